"""Where every benchmark writes its figures: bench/RESULTS.md (people) and
bench/results.json (programs), one entry per figure, replaced on each run."""

from __future__ import annotations

import json
import os
import platform
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
JSON_FILE = HERE / "results.json"
MD_FILE = HERE / "RESULTS.md"


def machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, no GPU"


def record(name: str, *, value: float, unit: str, baseline: float, description: str, baseline_label: str, higher_is_better: bool = True) -> dict:
    ratio = (value / baseline if higher_is_better else baseline / value) if baseline and value else None
    entry = {
        "value": round(value, 3),
        "unit": unit,
        "baseline": round(baseline, 3),
        "ratio": round(ratio, 3) if ratio is not None else None,
        "date": date.today().isoformat(),
        "machine": machine(),
        "description": description,
        "baseline_label": baseline_label,
        "higher_is_better": higher_is_better,
    }
    results = json.loads(JSON_FILE.read_text()) if JSON_FILE.exists() else {}
    results[name] = entry
    JSON_FILE.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    _write_markdown(results)
    return entry


def _write_markdown(results: dict) -> None:
    lines = [
        "# Benchmark results",
        "",
        "Written by the scripts in `bench/` (do not edit by hand; `make bench` reruns them).",
        "Ratio = Helix ÷ baseline when higher is better, baseline ÷ Helix when lower is better;",
        "both sides are measured in the same run on the same machine.",
        "",
        "| figure | Helix | baseline | ratio | date | machine |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, e in sorted(results.items()):
        ratio = f"{e['ratio']:.2f}×" if e["ratio"] is not None else "–"
        lines.append(
            f"| `{name}`: {e['description']} | {e['value']:,} {e['unit']} | {e['baseline']:,} {e['unit']} ({e['baseline_label']}) "
            f"| {ratio} | {e['date']} | {e['machine']} |"
        )
    extra = HERE / "NOTES.md"
    if extra.exists():
        lines += ["", extra.read_text().strip()]
    MD_FILE.write_text("\n".join(lines) + "\n")
