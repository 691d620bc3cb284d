"""ImageEngine on the tiny pipeline: batching, reproducibility, priorities, cancellation, backpressure."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from helix.models.diffusion import LoadedPipeline
from helix_visual.engine import BATCH, INTERACTIVE, ImageEngine, ImageSpec
from helix_visual.images import encode_png


def spec(seed: int = 1, **fields: object) -> ImageSpec:
    values: dict = {"model": "default", "prompt": "a lighthouse in fog", "width": 64, "height": 64, "steps": 3, "guidance_scale": 0.0,
                    "seed": seed}
    values.update(fields)
    return ImageSpec(**values)


async def test_concurrent_compatible_requests_share_pipeline_calls(engine: ImageEngine) -> None:
    results = await asyncio.gather(*(engine.render(spec(seed)) for seed in range(6)))
    assert engine.stats.items == 6 and engine.stats.batches <= 2, engine.stats
    assert max(r.batch_size for r in results) >= 3
    assert len({np.asarray(r.image).tobytes() for r in results}) == 6, "each request its own noise"


async def test_incompatible_requests_are_not_mixed(engine: ImageEngine) -> None:
    results = await asyncio.gather(engine.render(spec(1)), engine.render(spec(2, width=128)), engine.render(spec(3, steps=2)))
    assert [r.image.size for r in results] == [(64, 64), (128, 64), (64, 64)]
    assert engine.stats.batches == 3


async def test_same_seed_same_png_bytes_and_the_stock_pipeline_agrees(engine: ImageEngine, tiny_sd: LoadedPipeline) -> None:
    import torch

    first = (await engine.render(spec(42))).image
    again = (await engine.render(spec(42))).image
    other = (await engine.render(spec(43))).image
    assert encode_png(first, {"seed": 42}) == encode_png(again, {"seed": 42})
    assert np.asarray(first).tobytes() != np.asarray(other).tobytes()
    stock = tiny_sd.text2img("a lighthouse in fog", width=64, height=64, num_inference_steps=3, guidance_scale=0.0,
                             generator=torch.Generator("cpu").manual_seed(42)).images[0]
    assert np.asarray(stock).tobytes() == np.asarray(first).tobytes(), "the noise is the stock CPU generator's, seeded by the request"


async def test_steps_are_reported_to_the_caller(engine: ImageEngine) -> None:
    steps: list[tuple[int, int]] = []

    async def on_step(step: int, total: int) -> None:
        steps.append((step, total))

    await engine.render(spec(steps=4), on_step=on_step)
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]


async def test_a_person_waiting_goes_before_queued_batch_work(tiny_sd: LoadedPipeline) -> None:
    order: list[str] = []
    async with ImageEngine({"default": tiny_sd}, max_batch=1, max_queue=16, batch_wait_s=0) as engine:
        async def render(name: str, priority: int, **fields: object) -> None:
            await engine.render(spec(**fields), priority=priority)
            order.append(name)

        first = asyncio.create_task(render("running", BATCH, width=256, height=256))
        await asyncio.sleep(0.05)  # it is in the model now
        queued = [asyncio.create_task(render(f"batch-{n}", BATCH, seed=n)) for n in range(3)]
        await asyncio.sleep(0.01)
        preview = asyncio.create_task(render("preview", INTERACTIVE, seed=99))
        await asyncio.gather(first, preview, *queued)
    assert order[0] == "running" and order[1] == "preview", order


async def test_a_cancelled_request_is_dropped_before_it_runs(tiny_sd: LoadedPipeline) -> None:
    async with ImageEngine({"default": tiny_sd}, max_batch=1, max_queue=16, batch_wait_s=0) as engine:
        busy = asyncio.create_task(engine.render(spec(width=256, height=256)))
        await asyncio.sleep(0.05)
        doomed = asyncio.create_task(engine.render(spec(7)))
        await asyncio.sleep(0.01)
        doomed.cancel()
        await busy
        await asyncio.sleep(0.05)
        assert engine.stats.items == 1 and engine.queued == 0


async def test_a_full_queue_holds_callers_back(tiny_sd: LoadedPipeline) -> None:
    async with ImageEngine({"default": tiny_sd}, max_batch=1, max_queue=2, batch_wait_s=0) as engine:
        running = asyncio.create_task(engine.render(spec(width=256, height=256)))
        await asyncio.sleep(0.05)
        waiting = [asyncio.create_task(engine.render(spec(n))) for n in range(3)]
        await asyncio.sleep(0.02)
        assert engine.queued == 2, "the third caller waits outside the queue"
        await asyncio.gather(running, *waiting)


async def test_an_unknown_model_is_refused(engine: ImageEngine) -> None:
    with pytest.raises(ValueError, match="unknown model 'sdxl'"):
        await engine.render(spec(model="sdxl"))
