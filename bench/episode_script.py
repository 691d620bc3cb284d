"""An episode's script: wall time and tokens/s for a 40-scene script (outline by acts, scenes,
places, dialogue per scene as long as each needs), through the whole writer service path
(Kafka request → kit job → engine → MinIO → asset events), with the continuous engine beside
the previous static engine on the same request, in the same run.

Uses the running local infra (`helix infra up`) or starts Kafka and MinIO.

    uv run python bench/episode_script.py [--scenes 40] [--model ID --device cuda]   # tiny random Llama by default
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from helix.events import Actor, ScriptRequested, new_event  # noqa: E402
from helix.logs import configure_logging  # noqa: E402
from helix.settings import load_settings  # noqa: E402
from helix_writer.app import WriterApp  # noqa: E402
from helix_writer.settings import WriterSettings  # noqa: E402


async def episode(settings: WriterSettings, scenes: int) -> dict:
    app = WriterApp(settings)
    await app.start()
    try:
        request = ScriptRequested(production_id="bench", job_id=f"ep-{uuid.uuid4().hex[:8]}", requested_by=Actor(subject="bench"),
                                  logline="A lighthouse keeper's last night before the light is automated.", max_scenes=scenes, seed=1)
        started = time.perf_counter()
        await app.handle(new_event(request, source="/bench"))
        seconds = time.perf_counter() - started
        store = app.store
        script = json.loads(store.get(store.versions("bench", "script", f"script-{request.job_id}-script")[-1].key))["content"]
        return {"seconds": seconds, "tokens": app.engine.stats.new_tokens, "scenes": len(script["scenes"]),
                "lines": sum(len(s["dialogue"]) for s in script["scenes"]), "acts": len(script["acts"])}
    finally:
        await app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--model", default="", help="a real checkpoint (id or folder); default: the tiny random Llama")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    args = parser.parse_args()
    configure_logging("bench", level="WARNING", json=False)
    if not os.environ.get("HELIX_KAFKA_BOOTSTRAP"):
        from helix_dev.infra import LocalInfra

        LocalInfra().up(("kafka", "minio"))
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = load_settings()
        for engine in ("continuous", "static"):
            settings = WriterSettings(**{**base.model_dump(), "service_name": f"bench-{engine}", "writer_engine": engine,
                                         "writer_model": args.model, "writer_device": args.device, "writer_dtype": args.dtype,
                                         "topic_namespace": f"ep{uuid.uuid4().hex[:8]}", "database_url": f"sqlite:///{tmp}/{engine}.db",
                                         "writer_grpc_address": "127.0.0.1:0", "s3_bucket": f"bench-ep-{uuid.uuid4().hex[:8]}"})
            figures[engine] = asyncio.run(episode(settings, args.scenes))
            f = figures[engine]
            print(f"{engine}: {f['scenes']} scenes in {f['acts']} acts, {f['lines']} lines, {f['tokens']} tokens in {f['seconds']:.1f} s "
                  f"({f['tokens'] / f['seconds']:.0f} tokens/s)")
    label = args.model or "tiny random Llama"
    new, old = figures["continuous"], figures["static"]
    suffix = "" if args.device in ("auto", "cpu") and not args.model else "_model"
    record(f"episode_script{suffix}.seconds", value=new["seconds"], unit="s", baseline=old["seconds"], higher_is_better=False,
           baseline_label="the previous static engine, same request",
           description=f"a {args.scenes}-scene episode script ({new['lines']} lines) through the writer service, {label}")
    record(f"episode_script{suffix}.tokens_per_s", value=new["tokens"] / new["seconds"], unit="tokens/s",
           baseline=old["tokens"] / old["seconds"], baseline_label="the previous static engine, same request",
           description=f"tokens/s writing a {args.scenes}-scene episode script, {label}")


if __name__ == "__main__":
    main()
