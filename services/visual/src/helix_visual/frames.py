"""Storyboard frames: one image per shot of a writer's storyboard (or one from a prompt),
in the production's style, with a consistent look: frames of the same location and
characters start from the same noise, and an optional reference image anchors them
(image-to-image). Where the model has a layout ControlNet, each shot's frame is conditioned
on its layout sketch (`helix.layout`: the director's blocking, or its subjects spread across
the frame), so who stands where follows the storyboard; where it has an IP-Adapter, each
character with a reference image (`character_references`, the approved version) looks like it
in every frame, each reference masked to where its character stands when two share a frame."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from helix.events import FrameRequested, FrameSummary, UsedVersion
from helix.generation import Job, JobRefused
from helix.generation.ids import ImageAssetId, ImageFamily
from helix.generation.reader import Read
from helix.layout import layout
from helix.models.diffusion import PipelineFacts
from helix.story import Shot
from helix_visual import prompts
from helix_visual.cast import KeptCast, approved_cast
from helix_visual.engine import ImageSpec
from helix_visual.layout import region_png, sketch_png
from helix_visual.rendering import Renderer


@dataclass(frozen=True)
class Frame:
    item: str
    prompt: str
    seed: int
    inputs: dict[str, Any]
    sketch: bytes | None = None  # the shot's layout sketch, for a layout ControlNet
    references: tuple[bytes, ...] = ()  # the approved reference image of each character in the shot that has one
    masks: tuple[bytes | None, ...] = ()  # where each of them stands (with two or more in the frame)
    summary: FrameSummary = FrameSummary()
    loras: tuple[str, ...] = ()  # the configured LoRAs of the characters in the shot


async def render_frames(renderer: Renderer, job: Job[FrameRequested]) -> list[str]:
    req = job.request
    model, facts = renderer.pipeline(req.model)
    reference = await renderer.image(req.production_id, req.reference_asset_id) if req.reference_asset_id else None
    base_seed: int | str = req.seed if req.seed is not None else req.production_id
    laid_out = facts.layout is not None and reference is None  # a reference image anchors a frame instead (image-to-image)
    frames: list[Frame] = []
    cast: dict[str, Read[None]] = {}
    places: list[Read[None]] = []
    if req.storyboard_asset_id:
        board_version, board = await renderer.storyboard(req.production_id, req.storyboard_asset_id)
        shots = [s for s in board.shots if not req.shot_id or s.shot_id == req.shot_id]
        if req.shot_id and not shots:
            raise JobRefused(f"no shot {req.shot_id} in storyboard {req.storyboard_asset_id}")
        if not shots:
            raise JobRefused(f"storyboard {req.storyboard_asset_id} has no shots")
        cast, kept = await _cast(renderer, req, facts, board.shots)
        _check_loras(renderer, req, board.shots)
        for shot in shots:
            text = prompts.shot_prompt(shot, extra=req.prompt, style=req.style)
            place = kept.place(shot.location) if kept else None
            places += [place] if place else []
            frame = shot_frame(shot, text, prompts.shot_seed(base_seed, shot), {"storyboard_version": board_version}, cast,
                               place=place, laid_out=laid_out, width=req.width, height=req.height)
            loras = {c: req.character_loras[c] for c in shot.subjects if c in req.character_loras}
            frames.append(replace(frame, loras=tuple(dict.fromkeys(loras.values())),
                                  inputs={**frame.inputs, "loras": loras} if loras else frame.inputs))
    else:
        text = prompts.with_style(req.prompt, req.style)
        seed = req.seed if req.seed is not None else prompts.stable_seed(req.production_id, req.job_id)
        frames.append(Frame(req.shot_id or "1", text, seed, {"prompt": text}))
    parents = [p for p in (req.storyboard_asset_id, req.reference_asset_id, *req.parent_asset_ids,
                           *(r.asset_id for r in [*cast.values(), *places])) if p]

    async def draw(n: int, frame: Frame) -> str:
        spec = ImageSpec(model=model, prompt=frame.prompt, negative_prompt=req.negative_prompt, width=req.width, height=req.height,
                         steps=req.steps, guidance_scale=req.guidance_scale, seed=frame.seed,
                         init_image=reference.data if reference else None, strength=req.strength,
                         layout_image=frame.sketch, layout_scale=renderer.settings.visual_layout_scale,
                         references=frame.references, reference_masks=frame.masks,
                         reference_scale=renderer.settings.visual_reference_scale,
                         loras=tuple((name, renderer.settings.visual_loras[name], renderer.settings.visual_lora_scale) for name in frame.loras))
        inputs = frame.inputs
        if req.negative_prompt:
            inputs = {**inputs, "negative_prompt": req.negative_prompt}
        if reference:
            inputs = {**inputs, "reference_asset_id": req.reference_asset_id, "reference_version": reference.version}
        return await renderer.image_asset(job, ImageAssetId(ImageFamily.FRAME, req.job_id, frame.item), spec, inputs=inputs,
                                          parents=list(dict.fromkeys(parents)), position=(n, len(frames)), summary=frame.summary)

    # All frames at once: the engine batches them (with every other job's) into as few pipeline calls as fit.
    return await job.gather(*(draw(n, f) for n, f in enumerate(frames)))


def shot_frame(shot: Shot, prompt: str, seed: int, extra: dict[str, Any], cast: dict[str, Read[None]], *, place: Read[None] | None = None,
               laid_out: bool, width: int, height: int) -> Frame:
    """One shot's frame: its prompt and seed, its layout sketch (when the model takes one), the
    references of its characters in the cast and of its place; with more than one, each
    character's masked to where they stand and the place's over the whole frame; what it
    records of them (inputs, `FrameSummary`)."""
    inputs: dict[str, Any] = {"prompt": prompt, "shot": shot.model_dump(mode="json"), **extra}
    sketch = layout(shot)
    present = [f.character for f in sketch.figures if f.character in cast]
    summary = FrameSummary(shot_id=shot.shot_id, layout=("director" if shot.blocking else "subjects") if laid_out else None,
                           references={c: UsedVersion(asset_id=cast[c].asset_id, version=cast[c].version) for c in present},
                           place=UsedVersion(asset_id=place.asset_id, version=place.version) if place else None)
    if summary.layout:
        inputs["layout"] = {"blocking": shot.staged().model_dump(mode="json"), "by": summary.layout}
    if summary.references:
        inputs["references"] = {c: used.model_dump(mode="json") for c, used in summary.references.items()}
    if summary.place:
        inputs["place_reference"] = {"place": shot.location, **summary.place.model_dump(mode="json")}
    references = tuple(cast[c].data for c in present) + ((place.data,) if place else ())
    masks: tuple[bytes | None, ...] = ()
    if len(references) > 1:  # the characters where they stand; the place over the whole frame
        masks = tuple(region_png(sketch, c, width, height) for c in present) + ((None,) if place else ())
    return Frame(shot.shot_id, prompt, seed, inputs, sketch_png(sketch, width, height) if laid_out else None, references, masks, summary)


def _in_shots(req: FrameRequested, shots: list[Shot], named: Iterable[str]) -> set[str]:
    """The characters of the shots; refused with the reason when one `named` is in none of them."""
    in_shots = {s for shot in shots for s in shot.subjects}
    for name in named:
        if name not in in_shots:
            raise JobRefused(f"{name} is in no shot of {req.storyboard_asset_id} (its characters: {', '.join(sorted(in_shots)) or 'none'})")
    return in_shots


def _check_loras(renderer: Renderer, req: FrameRequested, shots: list[Shot]) -> None:
    """Every LoRA the request names is one the service has, for a character in some shot."""
    if not req.character_loras:
        return
    for character, name in req.character_loras.items():
        if name not in renderer.settings.visual_loras:
            raise JobRefused(f"no LoRA named {name!r} for {character}: HELIX_VISUAL_LORAS has "
                             f"{', '.join(sorted(renderer.settings.visual_loras)) or 'none'}")
    _in_shots(req, shots, req.character_loras)
    if req.model not in (None, "default"):
        raise JobRefused("character LoRAs are for the default model (HELIX_VISUAL_LORAS fit its UNet)")


async def _cast(renderer: Renderer, req: FrameRequested, facts: PipelineFacts, shots: list[Shot]) -> tuple[dict[str, Read[None]], KeptCast | None]:
    """Each character's approved reference image: with `cast`, the production's approved cast
    (each character's newest approved front view) for the characters in these shots, then the
    ones `character_references` names (those win); and with `cast`, the places' kept views.
    Refused with the reason when the model takes no references, a named character is in no
    shot, or a reference is not an approved image."""
    if not req.character_references and not req.cast:
        return {}, None
    if facts.references is None:
        raise JobRefused(f"model {req.model or 'default'!r} takes no reference images (no IP-Adapter: HELIX_VISUAL_REFERENCE_MODEL)")
    in_shots = _in_shots(req, shots, req.character_references)
    kept = await approved_cast(renderer, req.production_id, in_shots - set(req.character_references)) if req.cast else None
    reads = await asyncio.gather(*(renderer.approved_image(req.production_id, asset_id, what=f"the reference of {name}")
                                   for name, asset_id in req.character_references.items()))
    return (kept.characters if kept else {}) | dict(zip(req.character_references, reads, strict=True)), kept
