"""Memory over a long queue: 300 visual jobs one after another through the whole service path
(Kafka request event → kit job → engine → PNG + preview → asset store → asset event), and the
process's resident memory (and GPU memory where there is a GPU) after the first 20 jobs
beside the end, as a growth percentage. Goal: under 2 % (memory that creeps over queued runs
is the most common complaint about the tools studios use today).

Uses the running local infra (`helix infra up`) or starts Kafka and MinIO.

    uv run python bench/visual_soak.py [--jobs 300] [--size 128]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from helix.events import Actor, SceneRequested, TextureRequested, new_event  # noqa: E402
from helix.logs import configure_logging  # noqa: E402
from helix.settings import load_settings  # noqa: E402
from helix_visual.app import VisualApp  # noqa: E402
from helix_visual.settings import VisualSettings  # noqa: E402


def rss_mib() -> float:
    import psutil

    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def gpu_mib() -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    torch.cuda.synchronize()
    return torch.cuda.memory_allocated() / 2**20


async def soak(settings: VisualSettings, jobs: int, size: int) -> tuple[list[float], list[float | None], float]:
    app = VisualApp(settings)
    await app.start()
    rss: list[float] = []
    gpu: list[float | None] = []
    started = time.perf_counter()
    try:
        for n in range(jobs):
            kind = TextureRequested if n % 3 == 2 else SceneRequested
            request = kind(production_id="soak", job_id=f"soak-{n}", requested_by=Actor(subject="bench"), prompt=f"harbour study {n}",
                           width=size, height=size, steps=4, seed=n)
            await app.handle(new_event(request, source="/bench"))
            rss.append(rss_mib())
            gpu.append(gpu_mib())
            if (n + 1) % 50 == 0:
                print(f"  {n + 1} jobs, RSS {rss[-1]:.1f} MiB")
    finally:
        await app.stop()
    return rss, gpu, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    configure_logging("bench", level="WARNING", json=False)
    if not os.environ.get("HELIX_KAFKA_BOOTSTRAP"):
        from helix_dev.infra import LocalInfra

        LocalInfra().up(("kafka", "minio"))
    with tempfile.TemporaryDirectory() as tmp:
        base = load_settings()
        settings = VisualSettings(**{**base.model_dump(), "service_name": "visual-soak", "topic_namespace": f"soak{uuid.uuid4().hex[:8]}",
                                     "database_url": f"sqlite:///{tmp}/soak.db", "visual_grpc_address": "127.0.0.1:0",
                                     "s3_bucket": f"soak-{uuid.uuid4().hex[:8]}"})
        rss, gpu, seconds = asyncio.run(soak(settings, args.jobs, args.size))
    early, late = rss[args.warmup - 1], rss[-1]
    growth = (late - early) / early * 100
    print(f"{args.jobs} jobs in {seconds:.0f} s; RSS after {args.warmup}: {early:.1f} MiB, at the end: {late:.1f} MiB ({growth:+.2f} %)")
    suffix = "" if gpu[-1] is None else "_gpu"
    record(f"visual_soak{suffix}.rss_mib", value=late, unit="MiB", baseline=early, higher_is_better=False,
           baseline_label=f"RSS after the first {args.warmup} jobs",
           description=f"resident memory after {args.jobs} visual jobs one after another ({growth:+.2f} %; goal < 2 %)")
    if gpu[-1] is not None and gpu[args.warmup - 1]:
        record("visual_soak_gpu.gpu_mib", value=gpu[-1], unit="MiB", baseline=gpu[args.warmup - 1], higher_is_better=False,
               baseline_label=f"GPU memory after the first {args.warmup} jobs", description=f"GPU memory after {args.jobs} jobs")


if __name__ == "__main__":
    main()
