"""Seconds of video per second of wall time: the visual service's clip path (`helix_visual.motion`
then the H.264 encode the clip step does) beside the stock diffusers image-to-video pipeline
called once per shot, its pictures written to an MP4 by ffmpeg.

Same run, same pipeline object, same frames, prompts, sizes, steps and seeds on both sides;
the better of `--repeats` timed runs counts, after a warm-up. Clips are made one at a time
on both sides: Helix does not batch compatible clips yet, so on this CPU the figure says what
its own path (the frame-count rounding, the thread hop, the encode) costs, nothing more.

    uv run python bench/video_throughput.py                 # tiny random LTX-Video image-to-video on CPU
    uv run python bench/video_throughput.py --model PATH    # a real LTX-Video checkpoint (GPU)
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

from helix import ffmpeg  # noqa: E402
from helix.models.video import LoadedVideoPipeline, load_video_pipeline  # noqa: E402
from helix_dev.models.tiny_video import build_tiny_ltx_i2v  # noqa: E402
from helix_visual.motion import ClipSpec, Motion  # noqa: E402
from helix_visual.settings import VisualSettings  # noqa: E402

ACTIONS = ["the keeper climbs the stairs, the camera pans slowly", "waves break on the rocks, static camera",
           "the lamp turns, the camera dollies forward", "rain on the window, handheld camera", "gulls circle, the camera cranes up",
           "a boat leaves the pier, the camera tilts slowly"]


def frames_of(count: int, width: int, height: int) -> list:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)) for _ in range(count)]


def encode(pictures: list, fps: float, work: Path, n: int) -> None:
    folder = work / f"clip{n}"
    folder.mkdir(exist_ok=True)
    for k, picture in enumerate(pictures, start=1):
        picture.save(folder / f"f{k:04d}.png")
    ffmpeg.encode_frames(folder, "f%04d.png", fps, folder / "clip.mp4")


def stock(loaded: LoadedVideoPipeline, specs: list[ClipSpec], work: Path) -> float:
    import torch

    started = time.perf_counter()
    for n, spec in enumerate(specs):
        frames, width, height = loaded.clip_shape(round(spec.seconds * spec.fps), spec.width, spec.height)
        out = loaded.pipeline(image=spec.image, prompt=spec.prompt, num_frames=frames, width=width, height=height,
                              num_inference_steps=spec.steps, frame_rate=spec.fps, output_type="pil",
                              generator=torch.Generator("cpu").manual_seed(spec.seed))
        encode(out.frames[0], spec.fps, work, n)
    return time.perf_counter() - started


async def helix(motion: Motion, specs: list[ClipSpec], work: Path) -> float:
    started = time.perf_counter()
    for n, spec in enumerate(specs):
        result = await motion.animate(spec)
        await asyncio.to_thread(encode, result.frames, result.fps, work, n)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="", help="an LTX-Video image-to-video folder or id (default: the tiny random one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--shots", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--fps", type=int, default=8)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=160)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="helix-video-bench-") as folder:
        work = Path(folder)
        model = args.model or str(build_tiny_ltx_i2v(work / "tiny-ltx-i2v"))
        settings = VisualSettings(visual_video_model=model, visual_device=args.device)
        loaded = load_video_pipeline(model, device=args.device)
        motion = Motion(settings)
        specs = [ClipSpec(image=image, prompt=ACTIONS[n % len(ACTIONS)], seconds=args.seconds, fps=args.fps, width=args.width,
                          height=args.height, steps=args.steps, seed=n) for n, image in enumerate(frames_of(args.shots, args.width, args.height))]
        frames, _, _ = loaded.clip_shape(round(args.seconds * args.fps), args.width, args.height)
        video_s = args.shots * frames / args.fps
        stock(loaded, specs[:1], work)  # warm-up: both sides share the pipeline object
        asyncio.run(helix(motion, specs[:1], work))
        stock_s = min(stock(loaded, specs, work) for _ in range(args.repeats))
        helix_s = min(asyncio.run(helix(motion, specs, work)) for _ in range(args.repeats))
    kind = "tiny_cpu" if not args.model else f"{Path(args.model).name}_{args.device}"
    entry = record(f"video_throughput.{kind}", value=video_s / helix_s, unit="s of video/s", baseline=video_s / stock_s,
                   description=f"{args.shots} clips of {args.seconds:g} s ({frames} pictures at {args.fps} fps), {args.width}×{args.height}, "
                               f"{args.steps} steps, each encoded to H.264; clips one at a time on both sides",
                   baseline_label="stock LTX-Video image-to-video pipeline once per shot, then ffmpeg")
    print(f"video throughput: Helix {entry['value']} s of video/s, stock {entry['baseline']} ({entry['ratio']}×)")


if __name__ == "__main__":
    main()
