"""The step every visual request ends in: check an image spec against its model, render it on
the engine (step progress to the job), and store it through the kit as one PNG asset with
its parameters in the PNG and the sidecar, a preview, lineage and model time.

Also the reads the domain steps need from the store: a writer's storyboard, and the
latest version of an image asset (a reference image, or the parent of a revision).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from helix.assets import AssetNotFound, AssetStore, StoredAsset
from helix.events import AssetKind
from helix.events.data import AssetCost
from helix.generation import GeneratedAsset, Job
from helix.generation.approvals import Approvals
from helix.generation.ids import ImageAssetId
from helix.models.diffusion import LoadedPipeline
from helix_visual.engine import BATCH, ImageEngine, ImageSpec
from helix_visual.images import PNG, encode_png, preview_png
from helix_visual.settings import VisualSettings

IMAGE_KINDS = (AssetKind.FRAME, AssetKind.SCENE, AssetKind.TEXTURE)


@dataclass(frozen=True)
class StoredImage:
    stored: StoredAsset
    data: bytes
    provenance: dict[str, Any]


class Renderer:
    def __init__(self, engine: ImageEngine, store: AssetStore, settings: VisualSettings, optimisations: dict[str, list[str]],
                 approvals: Approvals | None = None) -> None:
        self.engine = engine
        self.store = store
        self.approvals = approvals
        self.settings = settings
        self.optimisations = optimisations  # model name -> settings applied to it

    def pipeline(self, model: str | None) -> tuple[str, LoadedPipeline]:
        name = model or "default"
        loaded = self.engine.pipelines.get(name)
        if loaded is None:
            raise ValueError(f"unknown model {name!r}; this service has {', '.join(sorted(self.engine.pipelines))}")
        return name, loaded

    def checked(self, spec: ImageSpec) -> tuple[ImageSpec, dict[str, Any]]:
        """The spec if its model can make it, with notes on what was adjusted (a long prompt is
        truncated to the text encoder's limit, and the note says so); ValueError otherwise."""
        _, loaded = self.pipeline(spec.model)
        factor = loaded.vae_scale_factor
        largest = self.settings.visual_max_side or 2 * loaded.native_size
        for side, value in (("width", spec.width), ("height", spec.height)):
            if value % factor:
                raise ValueError(f"{side} {value} is not a multiple of {factor}, which model {spec.model!r} needs")
            if not factor * 8 <= value <= largest:
                raise ValueError(f"{side} {value} is outside what model {spec.model!r} makes here ({factor * 8}-{largest} pixels)")
        notes: dict[str, Any] = {}
        limit = loaded.max_prompt_tokens
        tokenizer = loaded.text2img.tokenizer
        ids = tokenizer(spec.prompt, truncation=False)["input_ids"]
        if len(ids) > limit:
            kept = tokenizer.decode(ids[1 : limit - 1], skip_special_tokens=True)
            notes = {"prompt_truncated": True, "prompt_tokens": len(ids), "prompt_token_limit": limit, "prompt_as_read": kept}
            spec = replace(spec, prompt=kept)
        return spec, notes

    async def image_asset(self, job: Job, asset: ImageAssetId, spec: ImageSpec, *, inputs: dict[str, Any], parents: list[str],
                          position: tuple[int, int] = (0, 1), revises_version: int | None = None,
                          extra: dict[str, Any] | None = None, check: Callable[[Any], dict[str, Any]] | None = None,
                          finish: Callable[[Any], Any] | None = None) -> str:
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
            raise ValueError(f"{asset} does not tile on {spec.tiling}: {measured}")
        image_params = {  # what the image is; the same for the same request, so in the PNG too
            "model": loaded.ref.id, "model_revision": loaded.ref.revision, "model_name": name, "prompt": spec.prompt,
            "negative_prompt": spec.negative_prompt, "seed": spec.seed, "steps": spec.steps, "guidance_scale": spec.guidance_scale,
            "width": spec.width, "height": spec.height, "scheduler": loaded.scheduler,
            "scheduler_class": type(loaded.text2img.scheduler).__name__, "dtype": loaded.dtype, "tiling": spec.tiling,
            "noise": "cpu", **({"strength": spec.strength} if spec.init_image is not None else {}), **notes, **(extra or {}),
            **measured,
        }
        run_params = {**image_params, "device": loaded.device, "steps_run": result.steps_run, "batch_size": result.batch_size,
                      "optimisations": self.optimisations.get(name, [])}
        on_gpu = loaded.device.startswith("cuda")
        await job.store(GeneratedAsset(
            kind=asset.kind, asset_id=str(asset), data=encode_png(image, {"helix": image_params}), media_type=PNG, ext="png",
            model=loaded.ref, inputs=inputs, parameters=run_params, seed=spec.seed, parents=parents, revises_version=revises_version,
            cost=AssetCost(model_seconds=round(result.model_seconds, 6), gpu_seconds=round(result.compute_seconds if on_gpu else 0.0, 6),
                           device=loaded.device),
            preview=preview_png(image, self.settings.visual_preview_side)))
        return str(asset)

    # --- reading what requests build on ------------------------------------------------

    async def image(self, production_id: str, asset_id: str, version: int | None = None) -> StoredImage:
        """An image asset's bytes and provenance: the latest version, or the one asked for."""
        parsed = ImageAssetId.parse(asset_id)
        kinds = [parsed.kind] if parsed else list(IMAGE_KINDS)

        def read() -> StoredImage | None:
            for kind in kinds:
                versions = [v for v in self.store.versions(production_id, kind, asset_id) if version is None or v.key.version == version]
                if versions:
                    stored = versions[-1]
                    return StoredImage(stored, self.store.get(stored.key), self.store.sidecar(stored.key).get("provenance", {}))
            return None

        found = await asyncio.to_thread(read)
        if found is None:
            which = f"version {version} of " if version is not None else ""
            raise ValueError(f"no {which}image asset {asset_id} in production {production_id}")
        if not found.stored.media_type.startswith("image/"):
            raise ValueError(f"asset {asset_id} is not an image ({found.stored.media_type})")
        return found

    async def storyboard_shots(self, production_id: str, asset_id: str) -> tuple[int, list[dict[str, Any]]]:
        """The shots of the storyboard version a person approved, and that version: frames are
        never drawn from a storyboard nobody approved."""
        if self.approvals is None:
            raise ValueError("this renderer has no record of review decisions, so it cannot draw a storyboard")
        version = await self.approvals.approved_version(production_id, asset_id)
        if version is None:
            raise ValueError(f"storyboard {asset_id} is not approved: frames are drawn only from a storyboard a person approved")

        def read() -> list[dict[str, Any]] | None:
            try:
                versions = self.store.versions(production_id, AssetKind.STORYBOARD, asset_id)
            except AssetNotFound:
                return None
            chosen = next((v for v in versions if v.key.version == version), None)
            if chosen is None:
                return None
            body = json.loads(self.store.get(chosen.key))
            return list(body.get("content", {}).get("shots", []))

        shots = await asyncio.to_thread(read)
        if shots is None:
            raise ValueError(f"no version {version} of storyboard {asset_id} in production {production_id}")
        return version, shots
