"""Images/s of the visual service's batched engine beside the stock diffusers pipeline called
once per request, and time to the first live preview frame over gRPC.

Same run, same pipeline object (model, dtype, device, scheduler), same sizes, steps and
seeds on both sides: N concurrent requests through `ImageEngine` (compatible requests
share one pipeline call) against a loop that calls the stock pipeline once per request
with a CPU generator seeded per request (no handicap: no callbacks, no tiling, no PNG
encoding on either side). The better of `--repeats` timed runs counts, after a warm-up.

Live preview: a director's client sends one edit at a time on `VisualService.PreviewFrames`
(bearer token, real gRPC on loopback) and waits for its frame; p50/p99 of edit → first
frame, with the engine idle and with batch work queued behind it.

    uv run python bench/visual_throughput.py                    # tiny random SD pipeline on CPU
    uv run python bench/visual_throughput.py --full-size sd15   # random SD-1.5-shaped UNet/VAE (GPU)
    uv run python bench/visual_throughput.py --model PATH_OR_ID # a real checkpoint
    uv run python bench/visual_throughput.py --conditioned      # also: layout and reference conditioning's cost
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from helix.models.diffusion import LoadedPipeline, load_image_pipeline  # noqa: E402
from helix_dev.models.tiny_diffusion import build_tiny_sd  # noqa: E402
from helix_visual.engine import BATCH, ImageEngine, ImageSpec  # noqa: E402

PROMPTS = ["a lighthouse in a storm", "an empty harbour at dawn", "a keeper climbing stairs", "rain on a lamp room window",
           "gulls over black rocks", "a boat leaving the pier", "a kitchen lit by one candle", "fog on the cliff road"]


def stock_loop(loaded: LoadedPipeline, specs: list[ImageSpec]) -> float:
    import torch

    started = time.perf_counter()
    for spec in specs:
        loaded.text2img(spec.prompt, width=spec.width, height=spec.height, num_inference_steps=spec.steps,
                        guidance_scale=spec.guidance_scale, generator=torch.Generator("cpu").manual_seed(spec.seed))
    return time.perf_counter() - started


async def engine_run(engine: ImageEngine, specs: list[ImageSpec]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(engine.render(spec, priority=BATCH) for spec in specs))
    return time.perf_counter() - started


async def preview_latency(loaded: LoadedPipeline, engine: ImageEngine, *, edits: int, size: int, busy: list[ImageSpec],
                          layout: object = None) -> list[float]:
    """Seconds from sending an edit to receiving its frame, one edit at a time."""
    import grpc

    from helix.auth import TokenVerifier, mint_token
    from helix.generation.reader import Documents
    from helix.grpc import create_server
    from helix.testing import MemoryStore
    from helix.v1 import visual_pb2, visual_pb2_grpc
    from helix_visual.grpc_service import add_to_server
    from helix_visual.rendering import Renderer
    from helix_visual.settings import VisualSettings

    settings = VisualSettings(auth_secret="bench-" + "x" * 40, visual_preview_steps=2)
    server, port, _ = create_server("visual", address="127.0.0.1:0")
    add_to_server(server, Renderer(engine, Documents(MemoryStore(), None), settings, {}), TokenVerifier(settings))
    await server.start()
    token = mint_token(settings, "dana", ["director"], productions=["bench"])
    background = [asyncio.create_task(engine.render(spec)) for spec in busy]
    latencies: list[float] = []
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = visual_pb2_grpc.VisualServiceStub(channel)
            for n in range(edits):
                async def one(n: int = n):  # noqa: ANN202
                    yield visual_pb2.PreviewEdit(production_id="bench", edit_id=n, prompt=PROMPTS[n % len(PROMPTS)], width=size, height=size,
                                                 layout=layout)

                sent = time.perf_counter()
                async for _frame in stub.PreviewFrames(one(), metadata=[("authorization", f"Bearer {token}")]):
                    latencies.append(time.perf_counter() - sent)
                    break
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await server.stop(grace=None)
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def build_full_size(kind: str, directory: Path) -> Path:
    """Random weights at SD-1.5's or SDXL's real shapes (UNet, VAE, text encoders), the tiny
    tokenizer, saved in diffusers format: real speed, noise images. For a lent GPU."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from helix_dev.models.tiny_diffusion import _clip_tokenizer

    tok = _clip_tokenizer(1000)
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4, sample_size=512)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1)

    def clip(hidden: int, layers: int, heads: int, cls: type = CLIPTextModel) -> object:
        return cls(CLIPTextConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 4, num_hidden_layers=layers,
                                  num_attention_heads=heads, max_position_embeddings=77, projection_dim=hidden))

    if kind == "sd15":
        unet = UNet2DConditionModel(sample_size=64, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, cross_attention_dim=768,
                                    attention_head_dim=8)
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=clip(768, 12, 12), tokenizer=tok, unet=unet, scheduler=scheduler,
                                       safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    else:
        unet = UNet2DConditionModel(
            sample_size=128, block_out_channels=(320, 640, 1280), layers_per_block=2, cross_attention_dim=2048,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), transformer_layers_per_block=(1, 2, 10),
            attention_head_dim=(5, 10, 20), use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=2816)
        pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=clip(768, 12, 12), text_encoder_2=clip(1280, 32, 20, CLIPTextModelWithProjection),
                                         tokenizer=tok, tokenizer_2=tok, unet=unet, scheduler=scheduler)
    pipe.to(torch.float16).save_pretrained(directory, safe_serialization=True)
    return directory


def model_path(args: argparse.Namespace, tmp: Path) -> str:
    if args.model:
        return args.model
    if args.full_size:
        return str(build_full_size(args.full_size, tmp / args.full_size))
    return str(build_tiny_sd(tmp / "tiny-sd"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--preview-size", type=int, default=0, help="the live preview's side (default: --size, at most 512)")
    parser.add_argument("--model", help="a real checkpoint (id or folder)")
    parser.add_argument("--full-size", choices=["sd15", "sdxl"], help="random weights at a real architecture's size")
    parser.add_argument("--speedups", default="", help="comma list of channels_last,fuse_qkv,compile: each measured alone vs none")
    parser.add_argument("--conditioned", action="store_true", help="also: frames with layout and reference conditioning vs without")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    args = parser.parse_args()
    preview = args.preview_size or min(args.size, 512)  # the service's largest preview (HELIX_VISUAL_PREVIEW_MAX_SIDE)

    with tempfile.TemporaryDirectory() as tmp:
        path = model_path(args, Path(tmp))
        loaded = load_image_pipeline(path, device=args.device, dtype=args.dtype)
        label = "tiny random SD" if not (args.model or args.full_size) else (args.full_size or args.model)
        specs = [ImageSpec(model="default", prompt=PROMPTS[i % len(PROMPTS)], width=args.size, height=args.size, steps=args.steps,
                           guidance_scale=0.0, seed=i) for i in range(args.requests)]
        print(f"{args.requests} requests of {args.size}², {args.steps} steps, {label} on {loaded.device} ({loaded.dtype})")

        async def run() -> tuple[float, float, list[float], list[float], list[float]]:
            async with ImageEngine({"default": loaded}, max_batch=args.max_batch, max_queue=max(64, args.requests)) as engine:
                stock_loop(loaded, specs[:2])
                await engine_run(engine, specs[: args.max_batch])  # warm-up of both
                stock = min(stock_loop(loaded, specs) for _ in range(args.repeats))
                helix = min([await engine_run(engine, specs) for _ in range(args.repeats)])
                previews = [ImageSpec(model="default", prompt=PROMPTS[n % len(PROMPTS)], width=preview, height=preview, steps=2,
                                      guidance_scale=0.0, seed=n) for n in range(args.edits)]
                direct = [stock_loop(loaded, [spec]) for spec in previews]  # the same preview, the stock pipeline called directly
                idle = await preview_latency(loaded, engine, edits=args.edits, size=preview, busy=[])
                loaded_queue = [ImageSpec(model="default", prompt="queued batch work", width=args.size, height=args.size,
                                          steps=args.steps, guidance_scale=0.0, seed=1000 + i) for i in range(args.requests)]
                busy = await preview_latency(loaded, engine, edits=args.edits, size=preview, busy=loaded_queue)
            return stock, helix, direct, idle, busy

        stock, helix, direct, idle, busy = asyncio.run(run())
    suffix = "" if loaded.device == "cpu" else "_gpu" + (f"_{args.full_size}" if args.full_size else "")
    stock_rate, helix_rate = args.requests / stock, args.requests / helix
    print(f"stock pipeline, one call per request: {stock_rate:.2f} images/s; Helix engine: {helix_rate:.2f} images/s")
    e = record(f"visual_throughput{suffix}.images_per_s", value=helix_rate, unit="images/s", baseline=stock_rate,
               description=f"{args.requests} concurrent {args.size}² {args.steps}-step requests, {label}, {loaded.device}",
               baseline_label="stock pipeline, one call per request")
    print(f"→ ratio {e['ratio']}")
    base50, base99 = percentile(direct, 0.5), percentile(direct, 0.99)
    print(f"stock pipeline called directly for the same 2-step preview: p50 {base50 * 1000:.0f} ms, p99 {base99 * 1000:.0f} ms")
    for name, values, (b50, b99, blabel) in (
        ("idle", idle, (base50, base99, "the stock pipeline called directly, same image")),
        ("busy", busy, (percentile(idle, 0.5), percentile(idle, 0.99), "the same edits with the engine idle")),
    ):
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(f"first live preview frame ({name}): p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms over {len(values)} edits")
        for q, value, base in (("p50", p50, b50), ("p99", p99, b99)):
            record(f"visual_throughput{suffix}.preview_first_frame_{name}_{q}_ms", value=value * 1000, unit="ms", baseline=base * 1000,
                   higher_is_better=False, baseline_label=blabel,
                   description=f"edit → first preview frame over gRPC ({q}), {preview}², 2 steps, engine {name}"
                               + (f" with {args.requests} batch images queued" if name == "busy" else ""))


    if args.speedups:
        measure_speedups(args, [name.strip() for name in args.speedups.split(",") if name.strip()], suffix)
    if args.conditioned:
        measure_conditioned(args, suffix, preview)


def measure_conditioned(args: argparse.Namespace, suffix: str, preview: int) -> None:
    """What the cast and the blocking cost: the engine's images/s for two-character frames each
    conditioned on its layout sketch (ControlNet) and both characters' references with their
    masks (IP-Adapter), beside the same engine and pipeline object drawing the same frames
    unconditioned; and the live preview's first frame with a layout beside one without."""
    from helix.layout import layout
    from helix.story import Blocking, Camera, Placement, Shot, ShotType
    from helix.v1 import visual_pb2
    from helix_dev.models.tiny_diffusion import build_tiny_controlnet, build_tiny_ip_adapter
    from helix_visual.images import encode_png
    from helix_visual.layout import region_png, sketch_png

    if args.model or args.full_size:
        raise SystemExit("--conditioned measures the tiny pipeline with its tiny ControlNet and IP-Adapter only")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        loaded = load_image_pipeline(str(build_tiny_sd(folder / "sd")), device=args.device, dtype=args.dtype,
                                     layout_model=str(build_tiny_controlnet(folder / "controlnet")),
                                     reference_model=str(build_tiny_ip_adapter(folder / "ip-adapter")))
        from PIL import Image

        references = tuple(encode_png(Image.new("RGB", (64, 64), colour), {}) for colour in ((200, 30, 30), (20, 40, 220)))

        def conditioned(i: int) -> ImageSpec:
            shot = Shot(shot_id=f"s{i}", shot_type=ShotType.MEDIUM, camera=Camera.STATIC, subjects=["MARA", "TOM"], action="argue",
                        location="quay", duration_s=2, blocking=Blocking(placements=[
                            Placement(character="MARA", x=0.2 + 0.02 * (i % 8)), Placement(character="TOM", x=0.75, depth=0.3)]))
            sketch = layout(shot)
            return ImageSpec(model="default", prompt=PROMPTS[i % len(PROMPTS)], width=args.size, height=args.size, steps=args.steps,
                             guidance_scale=0.0, seed=i, layout_image=sketch_png(sketch, args.size, args.size), layout_scale=0.8,
                             references=references, reference_masks=tuple(region_png(sketch, c, args.size, args.size) for c in ("MARA", "TOM")))

        plain_specs = [ImageSpec(model="default", prompt=PROMPTS[i % len(PROMPTS)], width=args.size, height=args.size, steps=args.steps,
                                 guidance_scale=0.0, seed=i) for i in range(args.requests)]
        cond_specs = [conditioned(i) for i in range(args.requests)]
        two_shot = visual_pb2.ShotLayout(shot_type="medium", placements=[visual_pb2.Placement(character="MARA", x=0.3),
                                                                         visual_pb2.Placement(character="TOM", x=0.75, depth=0.3)])

        async def run() -> tuple[float, float, list[float], list[float]]:
            async with ImageEngine({"default": loaded}, max_batch=args.max_batch, max_queue=max(64, args.requests)) as engine:
                await engine_run(engine, plain_specs[: args.max_batch])
                await engine_run(engine, cond_specs[: args.max_batch])
                plain = min([await engine_run(engine, plain_specs) for _ in range(args.repeats)])
                cond = min([await engine_run(engine, cond_specs) for _ in range(args.repeats)])
                bare = await preview_latency(loaded, engine, edits=args.edits, size=preview, busy=[])
                laid_out = await preview_latency(loaded, engine, edits=args.edits, size=preview, busy=[], layout=two_shot)
            return plain, cond, bare, laid_out

        plain, cond, bare, laid_out = asyncio.run(run())
    e = record(f"visual_throughput{suffix}.conditioned_images_per_s", value=args.requests / cond, unit="images/s",
               baseline=args.requests / plain, baseline_label="the same engine and pipeline, the same frames unconditioned",
               description=f"{args.requests} two-character {args.size}² {args.steps}-step frames, each on its layout sketch (ControlNet) "
                           f"and two masked references (IP-Adapter), tiny models, {loaded.device}")
    print(f"conditioned frames: {args.requests / cond:.2f} images/s vs {args.requests / plain:.2f} unconditioned → {e['ratio']}×")
    for q in (0.5, 0.99):
        name = f"p{round(q * 100)}"
        value, base = percentile(laid_out, q), percentile(bare, q)
        record(f"visual_throughput{suffix}.conditioned_preview_first_frame_{name}_ms", value=value * 1000, unit="ms", baseline=base * 1000,
               higher_is_better=False, baseline_label="the same edits without a layout",
               description=f"edit with a two-person layout → first preview frame over gRPC ({name}), {preview}², 2 steps, engine idle")
        print(f"first preview frame with a layout ({name}): {value * 1000:.0f} ms vs {base * 1000:.0f} ms without")


def measure_speedups(args: argparse.Namespace, names: list[str], suffix: str) -> None:
    """The engine's images/s with each speed setting alone beside none, on a fresh copy of the pipeline."""
    from helix.models.diffusion import clear_cache
    from helix_visual.settings import VisualSettings
    from helix_visual.tuning import apply_speedups

    with tempfile.TemporaryDirectory() as tmp:
        path = model_path(args, Path(tmp))
        specs = [ImageSpec(model="default", prompt=PROMPTS[i % len(PROMPTS)], width=args.size, height=args.size, steps=args.steps,
                           guidance_scale=0.0, seed=i) for i in range(args.requests)]

        async def rate(setting: str | None) -> float:
            clear_cache()
            loaded = load_image_pipeline(path, device=args.device, dtype=args.dtype)
            if setting:
                apply_speedups(loaded, VisualSettings(**{f"visual_{setting}": True}))
            async with ImageEngine({"default": loaded}, max_batch=args.max_batch, max_queue=max(64, args.requests)) as engine:
                await engine_run(engine, specs[: args.max_batch])
                return args.requests / min([await engine_run(engine, specs) for _ in range(args.repeats)])

        plain = asyncio.run(rate(None))
        for name in names:
            value = asyncio.run(rate(name))
            e = record(f"visual_throughput{suffix}.speedup_{name}", value=value, unit="images/s", baseline=plain,
                       baseline_label="the engine without it",
                       description=f"engine images/s with {name} alone, {args.size}², {args.steps} steps, {args.device}")
            print(f"{name}: {value:.2f} images/s vs {plain:.2f} without → {e['ratio']}×")


if __name__ == "__main__":
    main()
