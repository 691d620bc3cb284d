"""ImageEngine on the tiny pipeline: batching, reproducibility, priorities, cancellation, backpressure."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from helix.layout import layout
from helix.models.diffusion import LoadedPipeline
from helix.story import Camera, Shot, ShotType
from helix_visual.engine import BATCH, INTERACTIVE, ImageEngine, ImageSpec
from helix_visual.images import encode_png
from helix_visual.layout import sketch_png


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


async def test_a_layout_conditions_the_image_on_the_layout_pipeline_and_the_stock_controlnet_pipeline_agrees(
        laid_out_engine: ImageEngine, tiny_sd_laid_out: LoadedPipeline) -> None:
    import torch

    from helix_visual.images import decode

    sketch = sketch_png(layout(Shot(shot_id="a", shot_type=ShotType.WIDE, camera=Camera.STATIC, subjects=["MARA"], action="waits",
                                    location="quay", duration_s=1)), 64, 64)
    plain, laid_out, batched = await asyncio.gather(laid_out_engine.render(spec()), laid_out_engine.render(spec(layout_image=sketch)),
                                                    laid_out_engine.render(spec(seed=2, layout_image=sketch)))
    assert laid_out.batch_size == batched.batch_size == 2 and plain.batch_size == 1, "laid-out requests batch together, apart from plain"
    assert not np.array_equal(np.asarray(plain.image), np.asarray(laid_out.image))
    stock = tiny_sd_laid_out.layout(prompt="a lighthouse in fog", image=decode(sketch), width=64, height=64, num_inference_steps=3,
                                    guidance_scale=0.0, controlnet_conditioning_scale=1.0,
                                    generator=torch.Generator("cpu").manual_seed(1)).images[0]
    assert np.abs(np.asarray(stock, dtype=np.int16) - np.asarray(laid_out.image, dtype=np.int16)).max() <= 1, "what diffusers draws"


async def test_a_layout_needs_a_layout_model_and_excludes_image_to_image(engine: ImageEngine) -> None:
    from PIL import Image

    sketch = encode_png(Image.new("RGB", (64, 64)), {})
    with pytest.raises(ValueError, match="has no layout model"):
        await engine.render(spec(layout_image=sketch))
    with pytest.raises(ValueError, match="from an image or from a layout, not from both"):
        spec(layout_image=sketch, init_image=sketch)


def flat(colour: tuple[int, int, int], size: tuple[int, int] = (64, 64), mode: str = "RGB") -> bytes:
    from PIL import Image

    return encode_png(Image.new(mode, size, colour if mode == "RGB" else colour[0]), {})


def half(left: bool) -> bytes:
    """A region mask: the left or right half of a 64² frame."""
    from PIL import Image, ImageDraw

    mask = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(mask).rectangle((0, 0, 31, 63) if left else (32, 0, 63, 63), fill=255)
    return encode_png(mask, {})


async def test_with_an_ip_adapter_loaded_a_request_without_references_draws_what_the_plain_pipeline_draws(
        cast_engine: ImageEngine, engine: ImageEngine) -> None:
    with_adapter, plain = await cast_engine.render(spec(9)), await engine.render(spec(9))
    assert np.array_equal(np.asarray(with_adapter.image), np.asarray(plain.image)), "scale 0: the adapter's attention is skipped"


async def test_references_condition_the_image_and_each_mask_reaches_the_call(cast_engine: ImageEngine,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import helix_visual.engine as engine_module

    calls: list[dict] = []
    real = engine_module._reference_kwargs
    monkeypatch.setattr(engine_module, "_reference_kwargs", lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    red, blue = flat((200, 30, 30)), flat((20, 40, 220))
    plain, first, again, other = [(await cast_engine.render(s)).image for s in (
        spec(4), spec(4, references=(red,)), spec(4, references=(red,)), spec(4, references=(blue,)))]
    pixels = [np.asarray(i, dtype=np.int16) for i in (plain, first, again, other)]
    assert np.array_equal(pixels[1], pixels[2]), "the same reference: the same image"
    assert np.abs(pixels[0] - pixels[1]).mean() > 0.5 and np.abs(pixels[1] - pixels[3]).mean() > 0.5, "a reference, and which, matter"
    assert calls[1]["ip_adapter_image_embeds"][0].shape[:2] == (1, 1)
    two = spec(4, references=(red, blue), reference_masks=(half(True), half(False)))
    masked = (await cast_engine.render(two)).image
    given = calls[-1]
    (embeds,), (masks,) = given["ip_adapter_image_embeds"], given["cross_attention_kwargs"]["ip_adapter_masks"]
    assert embeds.shape[:2] == (1, 2) and masks.shape == (1, 2, 64, 64), "two characters in one frame: two references, a mask each"
    assert masks[0, 0, :, :32].min() == 1 and masks[0, 0, :, 32:].max() == 0, "the first reference only on the left"
    assert masks[0, 1, :, 32:].min() == 1 and masks[0, 1, :, :32].max() == 0, "the second only on the right"
    unmasked = (await cast_engine.render(spec(4, references=(red, blue)))).image
    assert not np.array_equal(np.asarray(masked), np.asarray(unmasked)), "masks change where each reference applies"
    with pytest.raises(ValueError, match="one each, or none"):
        spec(references=(red, blue), reference_masks=(half(True),))


async def test_references_with_classifier_free_guidance_leave_the_unconditional_half_without_them(cast_engine: ImageEngine,
                                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import helix_visual.engine as engine_module

    calls: list[dict] = []
    real = engine_module._reference_kwargs
    monkeypatch.setattr(engine_module, "_reference_kwargs", lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    guided = [spec(4, guidance_scale=3.0, references=(flat((200, 30, 30)),), reference_masks=(half(True),)),
              spec(5, guidance_scale=3.0, references=(flat((20, 40, 220)),), reference_masks=(half(False),))]
    first, second = await asyncio.gather(*(cast_engine.render(s) for s in guided))
    assert first.batch_size == second.batch_size == 2, "one reference each: one call"
    (embeds,), (masks,) = calls[-1]["ip_adapter_image_embeds"], calls[-1]["cross_attention_kwargs"]["ip_adapter_masks"]
    assert embeds.shape[:2] == (4, 1) and masks.shape == (4, 1, 64, 64), "the unconditional half first, then the two requests"
    assert embeds[:2].abs().max() == 0 and embeds[2:].abs().min() >= 0 and embeds[2].ne(embeds[3]).any(), "each request its own reference"
    plain = (await cast_engine.render(spec(4, guidance_scale=3.0))).image
    assert not np.array_equal(np.asarray(plain), np.asarray(first.image))
