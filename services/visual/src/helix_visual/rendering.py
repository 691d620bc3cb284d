"""The step every visual request ends in: check an image spec against its model, render it on
the engine (step progress to the job), and store it through the kit as one PNG asset with
its parameters in the PNG and the sidecar, a preview, lineage and model time.

Also the reads the domain steps need from the store: a writer's storyboard, and the
latest version of an image asset (a reference image, or the parent of a revision).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from helix.documents import StoryboardDocument
from helix.events import AssetKind
from helix.events.data import AssetCost, AssetSummary
from helix.generation import GeneratedAsset, Job, JobRefused
from helix.generation.ids import ImageAssetId, ScriptAssetId, ScriptPart
from helix.generation.reader import AnyAsset, AssetRef, Documents, NotStored, Read
from helix.models.diffusion import PipelineFacts
from helix.story import Storyboard
from helix_visual.engine import BATCH, ImageEngine, ImageSpec
from helix_visual.images import PNG, encode_png, preview_png
from helix_visual.settings import VisualSettings

IMAGE_KINDS = (AssetKind.FRAME, AssetKind.SCENE, AssetKind.TEXTURE, AssetKind.REFERENCE)


class Renderer:
    def __init__(self, engine: ImageEngine, documents: Documents, settings: VisualSettings, optimisations: dict[str, list[str]]) -> None:
        self.engine = engine
        self.documents = documents
        self.settings = settings
        self.optimisations = optimisations  # model name -> settings applied to it

    def pipeline(self, model: str | None) -> tuple[str, PipelineFacts]:
        name = model or "default"
        loaded = self.engine.models.get(name)
        if loaded is None:
            raise JobRefused(f"unknown model {name!r}; this service has {', '.join(sorted(self.engine.models))}")
        return name, loaded

    def checked(self, spec: ImageSpec) -> tuple[ImageSpec, dict[str, Any]]:
        """The spec if its model can make it, with notes on what was adjusted (a long prompt is
        truncated to the text encoder's limit, and the note says so); `JobRefused` otherwise."""
        _, loaded = self.pipeline(spec.model)
        factor = loaded.vae_scale_factor
        largest = self.settings.visual_max_side or 2 * loaded.native_size
        for side, value in (("width", spec.width), ("height", spec.height)):
            if value % factor:
                raise JobRefused(f"{side} {value} is not a multiple of {factor}, which model {spec.model!r} needs")
            if not factor * 8 <= value <= largest:
                raise JobRefused(f"{side} {value} is outside what model {spec.model!r} makes here ({factor * 8}-{largest} pixels)")
        if spec.init_image is not None and int(spec.steps * spec.strength) < 1:  # diffusers would run no step at all
            raise JobRefused(f"strength {spec.strength} of {spec.steps} steps leaves no denoising step: raise the steps or the strength")
        notes: dict[str, Any] = {}
        limit = loaded.max_prompt_tokens
        count, kept = loaded.read_prompt(spec.prompt)
        if count > limit:
            notes = {"prompt_truncated": True, "prompt_tokens": count, "prompt_token_limit": limit, "prompt_as_read": kept}
            spec = replace(spec, prompt=kept)
        return spec, notes

    async def image_asset(self, job: Job[Any], asset: ImageAssetId, spec: ImageSpec, *, inputs: dict[str, Any], parents: list[str],
                          position: tuple[int, int] = (0, 1), revises_version: int | None = None,
                          extra: dict[str, Any] | None = None, check: Callable[[Any], dict[str, Any]] | None = None,
                          finish: Callable[[Any], Any] | None = None, summary: AssetSummary | None = None) -> str:
        """Render `spec` and store it as (a new version of) `asset`; a job that stored it before reuses it.

        `finish(image)` turns the rendered image into the one stored (a revision of marked regions
        pastes them into the version the reviewer saw). `check(image)` measures the stored image
        (e.g. a texture's seams): its figures are recorded with the image, and `"tiles": False`
        fails the job instead of storing it."""
        if await job.resumed(asset.kind, str(asset)) is not None:
            return str(asset)
        spec, notes = self.checked(spec)
        name, loaded = self.pipeline(spec.model)
        done, count = position

        async def on_step(step: int, total: int) -> None:
            fraction = (done + step / max(total, 1)) / count
            await job.progress(f"{asset}: step {step} of {total}", fraction, throttle_s=self.settings.visual_progress_every_s)

        result = await self.engine.render(spec, priority=BATCH, on_step=on_step)
        image = finish(result.image) if finish is not None else result.image
        measured = check(image) if check is not None else {}
        if measured.get("tiles") is False:
            raise JobRefused(f"{asset} does not tile on {spec.tiling}: {measured}")
        image_params = {  # what the image is; the same for the same request, so in the PNG too
            "model": loaded.ref.id, "model_revision": loaded.ref.revision, "model_name": name, "prompt": spec.prompt,
            "negative_prompt": spec.negative_prompt, "seed": spec.seed, "steps": spec.steps, "guidance_scale": spec.guidance_scale,
            "width": spec.width, "height": spec.height, "scheduler": loaded.scheduler,
            "scheduler_class": loaded.scheduler_class, "dtype": loaded.dtype, "tiling": spec.tiling,
            "noise": "cpu", **({"strength": spec.strength} if spec.init_image is not None else {}), **notes, **(extra or {}),
            **({"layout_model": loaded.layout.id, "layout_model_revision": loaded.layout.revision, "layout_scale": spec.layout_scale}
               if spec.layout_image is not None and loaded.layout is not None else {}),
            **({"reference_model": loaded.references.id, "reference_model_revision": loaded.references.revision,
                "reference_scale": spec.reference_scale, "reference_masks": len(spec.reference_masks)}
               if spec.references and loaded.references is not None else {}),
            **({"loras": [[name, weight] for name, _, weight in spec.loras]} if spec.loras else {}),
            **measured,
        }
        run_params = {**image_params, "device": loaded.device, "steps_run": result.steps_run, "batch_size": result.batch_size,
                      "optimisations": self.optimisations.get(name, [])}
        on_gpu = loaded.device.startswith("cuda")
        png, preview = await asyncio.to_thread(lambda: (encode_png(image, {"helix": image_params}),
                                                        preview_png(image, self.settings.visual_preview_side)))  # off the event loop
        await job.store(GeneratedAsset(
            kind=asset.kind, asset_id=str(asset), data=png, media_type=PNG, ext="png",
            model=loaded.ref, inputs=inputs, parameters=run_params, seed=spec.seed, parents=parents, revises_version=revises_version,
            cost=AssetCost(model_seconds=round(result.model_seconds, 6), gpu_seconds=round(result.compute_seconds if on_gpu else 0.0, 6),
                           device=loaded.device),
            preview=preview, summary=summary))
        return str(asset)

    # --- reading what requests build on ------------------------------------------------

    async def image(self, production_id: str, asset_id: str, version: int | None = None) -> Read[None]:
        """An image asset's bytes and provenance: the latest version, or the one asked for."""
        parsed = ImageAssetId.parse(asset_id)
        for asset in ([parsed] if parsed else [AnyAsset(asset_id, kind) for kind in IMAGE_KINDS]):
            found = (await self.documents.latest(production_id, asset) if version is None
                     else await self._version_or_none(production_id, asset, version))
            if found is not None:
                if not found.stored.media_type.startswith("image/"):
                    raise JobRefused(f"asset {asset_id} is not an image ({found.stored.media_type})")
                return found
        which = f"version {version} of " if version is not None else ""
        raise JobRefused(f"no {which}image asset {asset_id} in production {production_id}")

    async def approved_image(self, production_id: str, asset_id: str, *, what: str) -> Read[None]:
        """The version of an image asset a person approved; `JobRefused` when none is, or it is no image."""
        version = await self.documents.approved_version(production_id, asset_id)
        if version is None:
            raise JobRefused(f"{what} ({asset_id}) is not an approved image: nothing is built on it before a person approves it")
        return await self.image(production_id, asset_id, version)

    async def _version_or_none(self, production_id: str, asset: AssetRef, version: int) -> Read[None] | None:
        try:
            return await self.documents.version(production_id, asset, version)
        except NotStored:
            return None

    async def storyboard(self, production_id: str, asset_id: str) -> tuple[int, Storyboard]:
        """The storyboard version a person approved, and that version: frames are never drawn
        from a storyboard nobody approved."""
        part = ScriptAssetId.parse(asset_id)
        if part is None or part.part is not ScriptPart.STORYBOARD:
            raise JobRefused(f"{asset_id} is not a storyboard (script-<job>-storyboard-<scene>)")
        read = await self.documents.approved(production_id, part, StoryboardDocument, what="storyboard")
        return read.version, read.document.content


class RenderedWith(BaseModel):
    """What a stored image was rendered with (its parameters, as `image_asset` records them)."""

    model_config = ConfigDict(extra="ignore")
    prompt: str = ""
    model_name: str = "default"
    steps: int = 4
    guidance_scale: float = 0.0
    tiling: Literal["none", "x", "y", "xy"] = "none"
