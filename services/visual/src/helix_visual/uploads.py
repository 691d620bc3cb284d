"""A person's own view of the cast (`ReferenceUploaded`): the gateway staged their file in the
store; this step checks it is the image its request says, of a subject the approved script
names, and keeps it verbatim (never re-encoded: a file's own Content Credentials survive) as a
human-authored `reference` asset, numbered as a generated sheet's view of that subject would be.
Review then treats it like any other view; approved, frames keep it (`cast.py`)."""

from __future__ import annotations

import io
from typing import Any

from helix.events import UPLOAD_MEDIA_TYPES, AssetKind, Authorship, ReferenceSummary, ReferenceUploaded
from helix.generation import GeneratedAsset, Job, JobRefused
from helix.generation.ids import ImageAssetId, ImageFamily, reference_item
from helix_visual.images import preview_png
from helix_visual.rendering import Renderer
from helix_visual.sheets import approved_subjects

_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}  # what Pillow calls each
MIN_SIDE, MAX_SIDE = 64, 8192


def checked_image(data: bytes, media_type: str) -> Any:
    """The decoded image, if `data` is a whole image of `media_type` between MIN_SIDE and MAX_SIDE
    pixels a side; `JobRefused` saying what it is instead."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            found = probe.format
            probe.verify()  # a truncated or corrupt file fails here
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise JobRefused(f"the upload is not a readable {media_type} image: {exc}") from None
    if found != _FORMATS[media_type]:
        raise JobRefused(f"the upload was sent as {media_type} but its bytes are {found or 'no known image format'}")
    if min(image.size) < MIN_SIDE or max(image.size) > MAX_SIDE:
        raise JobRefused(f"the upload is {image.width}x{image.height}; a reference is {MIN_SIDE} to {MAX_SIDE} pixels a side")
    return image


async def keep_upload(renderer: Renderer, job: Job[ReferenceUploaded]) -> list[str]:
    req = job.request
    kind = req.subject_kind
    script = await approved_subjects(renderer, req.production_id, req.script_asset_id,
                                     **({"characters": [req.subject]} if kind == "character" else {"places": [req.subject]}))
    asset = ImageAssetId(ImageFamily.REFERENCE, req.job_id, reference_item(kind, script.number(kind, req.subject), req.view.value))
    if await job.resumed(AssetKind.REFERENCE, str(asset)) is not None:
        return [str(asset)]
    data = await job.staged(req.upload)
    image = checked_image(data, req.upload.media_type)
    preview = preview_png(image.convert("RGB"), renderer.settings.visual_preview_side)
    upload = {"filename": req.upload.filename, "sha256": req.upload.sha256, "size": req.upload.size, "media_type": req.upload.media_type}
    await job.store(GeneratedAsset(
        kind=AssetKind.REFERENCE, asset_id=str(asset), data=data, media_type=req.upload.media_type,
        ext=UPLOAD_MEDIA_TYPES[req.upload.media_type], model=None, authorship=Authorship.HUMAN,
        inputs={"upload": upload, "subject": req.subject, "subject_kind": kind, "view": req.view.value,
                "script_version": script.read.version, **({"notes": req.notes} if req.notes else {})},
        parameters={"width": image.width, "height": image.height, "mode": image.mode},
        parents=[req.script_asset_id, *req.parent_asset_ids], preview=preview,
        summary=ReferenceSummary(subject=req.subject, subject_kind=kind, view=req.view)))
    return [str(asset)]
