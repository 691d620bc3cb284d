"""Every benchmark, one after another (they each want the whole machine): each writes its
figures into bench/RESULTS.md and bench/results.json beside its baseline. A benchmark
that fails is reported and the rest still run; the exit status says whether all passed.

    uv run --all-packages python bench/run_all.py [--only episode writer_throughput] [--skip visual_soak]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Cheapest first; the episode (the whole system) last.
BENCHMARKS = ["kafka_roundtrip", "review_ingest", "review_throughput", "writer_throughput", "episode_script", "visual_throughput",
              "video_throughput",
              "visual_soak", "localize_throughput", "real_small", "episode"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="these benchmarks only")
    parser.add_argument("--skip", nargs="*", default=[], help="leave these out")
    args = parser.parse_args()
    chosen = [b for b in (args.only or BENCHMARKS) if b not in args.skip]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; there are {', '.join(BENCHMARKS)}")
    outcomes: list[tuple[str, int, float]] = []
    for n, name in enumerate(chosen, 1):
        print(f"\n=== [{n}/{len(chosen)}] bench/{name}.py", flush=True)
        began = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        outcomes.append((name, code, time.monotonic() - began))
    print("\n=== summary (figures: bench/RESULTS.md, bench/results.json)")
    for name, code, seconds in outcomes:
        print(f"  {'ok    ' if code == 0 else f'FAILED ({code})'} {name:<22} {seconds:7.0f} s")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
