"""`ImageEngine`: the concurrent image requests of a process, batched into diffusers calls.

Callers `await engine.render(spec)`. Requests wait in a bounded queue (`max_queue`); when it
is full, `render` waits before enqueuing, which holds back the Kafka consumer that called
it. A batcher takes the most urgent request (interactive previews before batch work, then
oldest first) and every queued request compatible with it (same model, size, steps,
guidance, tiling, and text-to-image or image-to-image with the same strength), up to
`max_batch`, and runs them as ONE pipeline call in a worker thread, never on the event loop.

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

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog

from helix.models import EngineStopped
from helix.models.diffusion import LoadedPipeline
from helix_visual.tiling import Axes, tiled

log = structlog.get_logger("helix.visual.engine")

INTERACTIVE, BATCH = 0, 1  # priorities: a person waiting comes first
OnStep = Callable[[int, int], Awaitable[None]]


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

    def batch_key(self) -> tuple[Any, ...]:
        """Requests with equal keys can share one pipeline call."""
        image_to_image = self.init_image is not None
        return (self.model, self.width, self.height, self.steps, self.guidance_scale, self.tiling, image_to_image,
                self.strength if image_to_image else None, self.negative_prompt is not None)


@dataclass(frozen=True)
class ImageResult:
    image: Any  # PIL.Image
    seconds: float  # submission to result
    model_seconds: float
    compute_seconds: float
    batch_size: int
    steps_run: int


@dataclass
class EngineStats:
    submitted: int = 0
    batches: int = 0
    images: int = 0
    largest_batch: int = 0


@dataclass(eq=False)
class _Request:
    spec: ImageSpec
    priority: int
    order: int
    loop: asyncio.AbstractEventLoop
    on_step: OnStep | None
    future: asyncio.Future = field(default=None)  # type: ignore[assignment]
    submitted_at: float = field(default_factory=time.perf_counter)
    cancelled: bool = False
    step_tasks: list[asyncio.Task] = field(default_factory=list)


class ImageEngine:
    """Batched image generation over the process's loaded pipelines (by configured name)."""

    def __init__(self, pipelines: dict[str, LoadedPipeline], *, max_batch: int = 8, max_queue: int = 64, batch_wait_s: float = 0.01) -> None:
        if max_batch < 1 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be at least 1")
        self.pipelines = pipelines
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.batch_wait_s = batch_wait_s
        self.stats = EngineStats()
        self._pending: list[_Request] = []
        self._space: asyncio.Semaphore | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._running: list[_Request] = []
        self._order = itertools.count()

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        self._space = asyncio.Semaphore(self.max_queue)
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helix-image-engine")
        self._task = asyncio.create_task(self._batcher(), name="helix-image-engine")

    async def stop(self) -> None:
        """Stop taking work: queued requests fail with EngineStopped, a running batch is interrupted."""
        task, self._task = self._task, None
        if task is None:
            return
        for request in self._running:
            request.cancelled = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for request in self._pending:
            if not request.future.done():
                request.future.set_exception(EngineStopped("the image engine stopped before this request ran"))
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def __aenter__(self) -> ImageEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def queued(self) -> int:
        return len(self._pending)

    # -- API ----------------------------------------------------------------------------
    async def render(self, spec: ImageSpec, *, priority: int = BATCH, on_step: OnStep | None = None) -> ImageResult:
        """Make one image; cancelling the caller drops (or stops) its request."""
        if self._task is None or self._space is None or self._wake is None:
            raise EngineStopped("the image engine is not running (call start())")
        if spec.model not in self.pipelines:
            raise ValueError(f"unknown model {spec.model!r}; this service has {', '.join(sorted(self.pipelines))}")
        loop = asyncio.get_running_loop()
        request = _Request(spec, priority, next(self._order), loop, on_step, future=loop.create_future())
        await self._space.acquire()  # waits while the queue is full: backpressure
        self._pending.append(request)
        self.stats.submitted += 1
        self._wake.set()
        try:
            result = await asyncio.shield(request.future)
        except asyncio.CancelledError:
            request.cancelled = True
            raise
        finally:
            if request.step_tasks:
                await asyncio.gather(*request.step_tasks, return_exceptions=True)
        return result

    # -- batching -----------------------------------------------------------------------
    def _take_batch(self) -> list[_Request]:
        live = sorted((r for r in self._pending if not r.cancelled), key=lambda r: (r.priority, r.order))
        dropped = [r for r in self._pending if r.cancelled]
        batch = [] if not live else [r for r in live if r.spec.batch_key() == live[0].spec.batch_key()][: self.max_batch]
        for request in (*batch, *dropped):
            self._pending.remove(request)
            assert self._space is not None
            self._space.release()
        for request in dropped:
            if not request.future.done():
                request.future.cancel()
        return batch

    async def _batcher(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            if len(self._pending) < self.max_batch and self.batch_wait_s > 0:
                await asyncio.sleep(self.batch_wait_s)  # let concurrent callers join this batch
            batch = self._take_batch()
            if not batch:
                continue
            self._running = batch
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, batch)
                for request, result in zip(batch, results, strict=True):
                    if not request.future.done():
                        request.future.set_result(result)
            except Exception as exc:  # the call failed as a whole: each of its requests gets the error
                log.exception("image batch failed", images=len(batch))
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)
            finally:
                self._running = []

    def _run_batch(self, batch: list[_Request]) -> list[ImageResult]:
        """Worker thread: one pipeline call for the batch."""
        import torch

        from helix_visual.images import decode

        spec = batch[0].spec
        loaded = self.pipelines[spec.model]
        generators = [torch.Generator("cpu").manual_seed(r.spec.seed) for r in batch]  # CPU noise: same on any device
        kwargs: dict[str, Any] = {
            "prompt": [r.spec.prompt for r in batch],
            "num_inference_steps": spec.steps,
            "guidance_scale": spec.guidance_scale,
            "generator": generators,
            "output_type": "pil",
            "callback_on_step_end": self._step_callback(batch),
        }
        if spec.negative_prompt is not None:
            kwargs["negative_prompt"] = [r.spec.negative_prompt or "" for r in batch]
        if spec.init_image is not None:
            pipe = loaded.img2img
            kwargs.update(image=[decode(r.spec.init_image).resize((spec.width, spec.height)) for r in batch],  # type: ignore[arg-type]
                          strength=spec.strength)
        else:
            pipe = loaded.text2img
            kwargs.update(width=spec.width, height=spec.height)
        self.stats.batches += 1
        self.stats.images += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        started = time.perf_counter()
        with torch.inference_mode(), tiled(loaded.modules(), spec.tiling):
            images = pipe(**kwargs).images
        took = time.perf_counter() - started
        steps_run = max(1, int(spec.steps * spec.strength)) if spec.init_image is not None else spec.steps
        done = time.perf_counter()
        return [ImageResult(image=image, seconds=done - r.submitted_at, model_seconds=took, compute_seconds=took / len(batch),
                            batch_size=len(batch), steps_run=steps_run) for r, image in zip(batch, images, strict=True)]

    @staticmethod
    def _step_callback(batch: list[_Request]) -> Callable[..., dict[str, Any]]:
        def on_step_end(pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
            if all(r.cancelled for r in batch):
                pipe._interrupt = True  # diffusers stops the denoising loop at the next step
            total = int(getattr(pipe, "num_timesteps", 0) or 0)
            for request in batch:
                if request.on_step is not None and not request.cancelled:
                    request.loop.call_soon_threadsafe(_start_step_task, request, step + 1, total)
            return callback_kwargs

        return on_step_end


def _start_step_task(request: _Request, step: int, total: int) -> None:
    assert request.on_step is not None
    request.step_tasks.append(request.loop.create_task(request.on_step(step, total)))
