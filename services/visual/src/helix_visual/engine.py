"""`ImageEngine`: the concurrent image requests of a process, batched into diffusers calls.

A `helix.models.batching.Batcher`: a bounded queue, interactive previews before batch work,
and every queued request compatible with the most urgent one (same model, size, steps,
guidance, tiling, and text-to-image, image-to-image with the same strength, or text-to-image
conditioned on a layout sketch with the same scale; as many reference images each), up to
`max_batch`, run as ONE pipeline call (`draw`) in a worker thread, or in a worker process
(`worker.py`, `HELIX_VISUAL_WORKER_PROCESS`, off by default) so the service's event loop
never waits on a denoising loop for the GIL.

- **Reproducible**: each request's initial noise comes from its own `torch.Generator` on the
  CPU, seeded from the request, so a seed means the same noise on any device, whatever else
  is in the batch. The same request on the same model, dtype and device gives the same
  pixels when it runs in a batch of the same size (float sums in a bigger batch may differ
  in the last bits).
- **Progress**: each denoising step is reported to every request of the batch (`on_step`).
- **Cancellation**: a request whose caller gave up is dropped before it runs; a running
  batch whose every request was cancelled is interrupted at the next step.
- **Model time**: every request of a batch spent the whole call in the model
  (`model_seconds`); `compute_seconds` is its share (call time ÷ batch size).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helix.models.batching import BATCH, INTERACTIVE, Batcher, OnStep, Pending
from helix.models.diffusion import LoadedPipeline, PipelineFacts
from helix_visual.tiling import Axes, tiled

__all__ = ["BATCH", "INTERACTIVE", "ImageEngine", "ImageResult", "ImageSpec", "draw", "results"]


@dataclass(frozen=True)
class ImageSpec:
    """One image to make. `model` is a configured model name; `init_image` (PNG bytes) makes it image-to-image."""

    model: str
    prompt: str
    width: int
    height: int
    steps: int
    guidance_scale: float
    seed: int
    negative_prompt: str | None = None
    tiling: Axes = "none"
    init_image: bytes | None = None
    strength: float = 0.6
    layout_image: bytes | None = None  # a layout sketch (PNG) the model's layout ControlNet conditions on
    layout_scale: float = 1.0
    references: tuple[bytes, ...] = ()  # reference images (PNG) the model's IP-Adapter conditions on: a character's look, a place's
    reference_masks: tuple[bytes | None, ...] = ()  # per reference, the region (a greyscale PNG) it applies to; None: the whole frame
    reference_scale: float = 0.6
    loras: tuple[tuple[str, str, float], ...] = ()  # (adapter name, LoRA folder or file, weight): a character's LoRA, the whole frame

    def __post_init__(self) -> None:
        if self.init_image is not None and self.layout_image is not None:
            raise ValueError("an image is drawn from an image or from a layout, not from both")
        if self.reference_masks and len(self.reference_masks) != len(self.references):
            raise ValueError(f"{len(self.reference_masks)} masks for {len(self.references)} references: one each, or none")

    def batch_key(self) -> tuple[Any, ...]:
        """Requests with equal keys can share one pipeline call."""
        image_to_image = self.init_image is not None
        laid_out = self.layout_image is not None
        return (self.model, self.width, self.height, self.steps, self.guidance_scale, self.tiling, image_to_image,
                self.strength if image_to_image else None, self.negative_prompt is not None, laid_out,
                self.layout_scale if laid_out else None, len(self.references), self.reference_scale if self.references else None,
                tuple(sorted(self.loras)))


@dataclass(frozen=True)
class ImageResult:
    image: Any  # PIL.Image
    seconds: float  # submission to result
    model_seconds: float
    compute_seconds: float
    batch_size: int
    steps_run: int


class ImageEngine(Batcher[ImageSpec, ImageResult]):
    """Batched image generation over the process's loaded pipelines (by configured name).
    `models`: what the service knows of each pipeline (`PipelineFacts`); the drawing itself
    is `run_batch`, here in a thread, in `worker.WorkerImageEngine` in a process of its own."""

    def __init__(self, pipelines: dict[str, LoadedPipeline], *, max_batch: int = 8, max_queue: int = 64, batch_wait_s: float = 0.01) -> None:
        super().__init__(key=ImageSpec.batch_key, max_batch=max_batch, max_queue=max_queue, batch_wait_s=batch_wait_s, name="image engine")
        self.pipelines = pipelines
        self.models: dict[str, PipelineFacts] = {name: loaded.facts for name, loaded in pipelines.items()}

    async def render(self, spec: ImageSpec, *, priority: int = BATCH, on_step: OnStep | None = None) -> ImageResult:
        """Make one image; cancelling the caller drops (or stops) its request."""
        if spec.model not in self.models:
            raise ValueError(f"unknown model {spec.model!r}; this service has {', '.join(sorted(self.models))}")
        return await self.submit(spec, priority=priority, on_step=on_step)

    def run_batch(self, batch: list[Pending[ImageSpec]]) -> list[ImageResult]:
        """Worker thread: one pipeline call for the batch."""

        def on_step(step: int, total: int) -> None:
            for request in batch:
                request.report_step(step, total)

        images, took = draw(self.pipelines[batch[0].spec.model], [r.spec for r in batch], on_step=on_step,
                            cancelled=lambda: all(r.cancelled for r in batch))
        return results(batch, images, took)


def draw(loaded: LoadedPipeline, specs: list[ImageSpec], *, on_step: Callable[[int, int], None],
         cancelled: Callable[[], bool]) -> tuple[list[Any], float]:
    """One pipeline call for compatible `specs`: the images (PIL) and the call's seconds.
    `on_step(step, total)` after each denoising step; the call stops at the next step once
    `cancelled()`."""
    import torch

    from helix_visual.images import decode

    spec = specs[0]
    generators = [torch.Generator("cpu").manual_seed(s.seed) for s in specs]  # CPU noise: same on any device
    kwargs: dict[str, Any] = {
        "prompt": [s.prompt for s in specs],
        "num_inference_steps": spec.steps,
        "guidance_scale": spec.guidance_scale,
        "generator": generators,
        "output_type": "pil",
        "callback_on_step_end": _step_callback(on_step, cancelled),
    }
    if spec.negative_prompt is not None:
        kwargs["negative_prompt"] = [s.negative_prompt or "" for s in specs]
    if spec.init_image is not None:
        pipe = loaded.img2img
        kwargs.update(image=[decode(_init_image(s)).resize((spec.width, spec.height)) for s in specs], strength=spec.strength)
    elif spec.layout_image is not None:
        if loaded.layout is None:
            raise ValueError(f"{loaded.ref.id} has no layout model: a frame conditioned on a layout needs one")
        pipe = loaded.layout
        kwargs.update(image=[decode(s.layout_image or b"").resize((spec.width, spec.height)) for s in specs],
                      controlnet_conditioning_scale=spec.layout_scale, width=spec.width, height=spec.height)
    else:
        pipe = loaded.text2img
        kwargs.update(width=spec.width, height=spec.height)
    _use_loras(loaded, spec.loras)
    started = time.perf_counter()
    with torch.inference_mode(), tiled(loaded.modules(), spec.tiling):
        if loaded.references_ref is not None:  # once an IP-Adapter is in the UNet, every call gives it image embeddings
            kwargs.update(_reference_kwargs(loaded, specs, classifier_free=spec.guidance_scale > 1))
        images = pipe(**kwargs).images
    return list(images), time.perf_counter() - started


def _reference_kwargs(loaded: LoadedPipeline, specs: list[ImageSpec], *, classifier_free: bool) -> dict[str, Any]:
    """The IP-Adapter's inputs for one call: each request's reference images through the image
    encoder (`[batch, references, dim]`: requests in a batch have as many references each) and
    each reference's region mask; a batch with no references gets zero embeddings at scale 0,
    which the attention skips, so its images are what the plain pipeline draws."""
    import torch
    from diffusers.image_processor import IPAdapterMaskProcessor
    from PIL import Image

    from helix_visual.images import decode

    pipe, spec = loaded.text2img, specs[0]
    encoder = pipe.image_encoder
    count = len(spec.references)
    if count == 0:
        pipe.set_ip_adapter_scale(0.0)
        embeds = torch.zeros(len(specs), 1, encoder.config.projection_dim, dtype=encoder.dtype, device=encoder.device)
        return {"ip_adapter_image_embeds": [torch.cat([embeds, embeds]) if classifier_free else embeds]}
    pipe.set_ip_adapter_scale(spec.reference_scale)
    pixels = pipe.feature_extractor([decode(r) for s in specs for r in s.references], return_tensors="pt").pixel_values
    embeds = encoder(pixels.to(device=encoder.device, dtype=encoder.dtype)).image_embeds.view(len(specs), count, -1)
    whole = Image.new("L", (spec.width, spec.height), 255)
    regions = [decode(m).convert("L") if m is not None else whole
               for s in specs for m in (s.reference_masks or (None,) * count)]
    masks = IPAdapterMaskProcessor().preprocess(regions, height=spec.height, width=spec.width).view(len(specs), count, spec.height, spec.width)
    if classifier_free:  # the unconditional half: no reference
        embeds, masks = torch.cat([torch.zeros_like(embeds), embeds]), torch.cat([masks, masks])
    return {"ip_adapter_image_embeds": [embeds], "cross_attention_kwargs": {"ip_adapter_masks": [masks]}}


def _use_loras(loaded: LoadedPipeline, loras: tuple[tuple[str, str, float], ...]) -> None:
    """The batch's LoRAs active in the UNet (the pipelines share it), loaded on first use under
    their names; a batch with none draws with every LoRA off."""
    pipe = loaded.text2img
    present = {name for names in pipe.get_list_adapters().values() for name in names}
    if not loras:
        if present:
            pipe.disable_lora()
        return
    for name, path, _ in loras:
        if name not in present:
            source = Path(path)
            if source.is_file():
                pipe.load_lora_weights(str(source.parent), weight_name=source.name, adapter_name=name)
            else:
                pipe.load_lora_weights(path, adapter_name=name)
    pipe.enable_lora()
    pipe.set_adapters([name for name, _, _ in loras], adapter_weights=[weight for _, _, weight in loras])


def results(batch: list[Pending[ImageSpec]], images: list[Any], took: float) -> list[ImageResult]:
    """Each request's result of one call: every request spent the whole call in the model."""
    spec = batch[0].spec
    steps_run = max(1, int(spec.steps * spec.strength)) if spec.init_image is not None else spec.steps
    done = time.perf_counter()
    return [ImageResult(image=image, seconds=done - r.submitted_at, model_seconds=took, compute_seconds=took / len(batch),
                        batch_size=len(batch), steps_run=steps_run) for r, image in zip(batch, images, strict=True)]


def _init_image(spec: ImageSpec) -> bytes:
    if spec.init_image is None:  # batches are keyed on the spec's shape: image-to-image never shares with text-to-image
        raise ValueError("a text-to-image request in an image-to-image batch")
    return spec.init_image


def _step_callback(on_step: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Callable[..., dict[str, Any]]:
    def on_step_end(pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        if cancelled():
            pipe._interrupt = True  # diffusers stops the denoising loop at the next step
        on_step(step + 1, int(getattr(pipe, "num_timesteps", 0) or 0))
        return callback_kwargs

    return on_step_end
