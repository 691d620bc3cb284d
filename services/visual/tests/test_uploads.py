"""A person's own view of the cast: the staged file kept verbatim as a human-authored
`reference` asset numbered like a sheet's view of its subject; approved, frames keep it; what is
not the image its request says, or not of a subject the approved script names, is refused."""

from __future__ import annotations

import hashlib
import io

from helix.assets import UploadKey
from helix.events import AssetKind, Authorship, JobCompleted, JobFailed, ReferenceSummary, ReferenceUploaded, ReferenceView
from helix.events.examples import example
from helix_visual.cast import approved_cast
from helix_visual.frames import render_frames
from helix_visual.uploads import keep_upload

from .conftest import PRODUCTION, Studio
from .test_cast import cast_frames
from .test_frames import cast_board
from .test_sheets import SCRIPT, approved_script


def picture(colour: tuple[int, int, int], fmt: str = "PNG", size: tuple[int, int] = (96, 80)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def staged(studio: Studio, data: bytes, media_type: str = "image/png", upload_id: str = "up-1", production: str = PRODUCTION) -> dict[str, object]:
    key = UploadKey.for_media(production, upload_id, media_type)
    digest = studio.store.stage(key, data, media_type)
    return {"key": str(key), "sha256": digest, "size": len(data), "media_type": media_type, "filename": f"{upload_id}.img"}


def uploaded(job_id: str, upload: dict[str, object], subject: str = "MARA", view: str = "front") -> ReferenceUploaded:
    return example(ReferenceUploaded, production_id=PRODUCTION, job_id=job_id, script_asset_id=SCRIPT, subject=subject, view=view,
                   upload=upload)  # type: ignore[return-value]


async def test_an_upload_is_kept_verbatim_as_a_human_view(studio: Studio) -> None:
    await approved_script(studio)
    photo = picture((10, 200, 90), "JPEG")
    done = await studio.run(uploaded("job-1", staged(studio, photo, "image/jpeg"), subject="the lamp room", view="establishing"),
                            keep_upload)
    assert isinstance(done, JobCompleted) and done.asset_ids == ["reference-job-1-p1-establishing"]
    event = studio.generated("reference-job-1-p1-establishing")[0]
    assert event.authorship is Authorship.HUMAN and event.model is None and event.media_type == "image/jpeg"
    assert event.object_key.endswith("/v1.jpg") and studio.latest_bytes("reference-job-1-p1-establishing") == photo, "never re-encoded"
    assert event.typed_summary() == ReferenceSummary(subject="the lamp room", subject_kind="place", view=ReferenceView.ESTABLISHING)
    assert event.inputs["upload"]["sha256"] == hashlib.sha256(photo).hexdigest() and event.parent_asset_ids == [SCRIPT]
    assert event.parameters == {"width": 96, "height": 80, "mode": "RGB"}

    again = await studio.run(uploaded("job-1", staged(studio, photo, "image/jpeg"), subject="the lamp room", view="establishing"),
                             keep_upload)
    assert isinstance(again, JobCompleted) and len(studio.store.versions(PRODUCTION, AssetKind.REFERENCE, done.asset_ids[0])) == 1, \
        "a redelivered upload stores nothing twice"


async def test_frames_keep_an_approved_upload(cast_studio: Studio) -> None:
    studio = cast_studio
    await approved_script(studio)
    await cast_board(studio)
    done = await studio.run(uploaded("up-1", staged(studio, picture((250, 250, 0)))), keep_upload)
    assert isinstance(done, JobCompleted) and done.asset_ids == ["reference-up-1-c1-front"], "MARA is the script's first character"
    assert (await approved_cast(studio.renderer, PRODUCTION, {"MARA"})).characters == {}, "not before a person approves it"
    await studio.approve("reference-up-1-c1-front", AssetKind.REFERENCE)
    kept = await approved_cast(studio.renderer, PRODUCTION, {"MARA", "TOM"})
    assert set(kept.characters) == {"MARA"} and kept.characters["MARA"].asset_id == "reference-up-1-c1-front"
    assert isinstance(await studio.run(cast_frames("job-2"), render_frames), JobCompleted)
    frame = studio.generated("frame-job-2-s1-shot1")[0]
    assert frame.inputs["references"]["MARA"] == {"asset_id": "reference-up-1-c1-front", "version": 1}


async def test_what_is_not_a_view_of_the_cast_is_refused(studio: Studio) -> None:
    await approved_script(studio)
    png = picture((1, 2, 3))
    tampered = staged(studio, png, upload_id="up-t")
    studio.store.uploads[str(tampered["key"])].data = picture((3, 2, 1))
    cases = [
        (uploaded("j1", staged(studio, png, "image/jpeg", "up-1")), "sent as image/jpeg but its bytes are PNG"),
        (uploaded("j2", staged(studio, b"GIF89a" + bytes(40), upload_id="up-2")), "not a readable image/png image"),
        (uploaded("j3", staged(studio, picture((1, 2, 3), size=(32, 32)), upload_id="up-3")), "is 32x32; a reference is 64 to"),
        (uploaded("j4", staged(studio, png, upload_id="up-4"), subject="ANA"), "ANA not in the approved script"),
        (uploaded("j5", staged(studio, png, upload_id="up-5"), subject="the lamp room", view="front"),
         "the lamp room not in the approved script"),
        (uploaded("j6", {**staged(studio, png, upload_id="up-6"), "key": "uploads/lighthouse/gone.png"}), "is not in the store"),
        (uploaded("j7", tampered), "does not match the sha256"),
        (uploaded("j8", staged(studio, png, upload_id="up-8", production="elsewhere")), "belongs to another production"),
    ]
    for request, reason in cases:
        failed = await studio.run(request, keep_upload)
        assert isinstance(failed, JobFailed) and reason in failed.error and not failed.retriable, (reason, failed)
    assert not studio.store.versions(PRODUCTION, AssetKind.REFERENCE, "reference-j1-c1-front")
