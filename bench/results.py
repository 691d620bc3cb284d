"""Where every benchmark writes its figures: bench/RESULTS.md (people) and
bench/results.json (programs), one entry per figure, replaced on each run."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
JSON_FILE = HERE / "results.json"
MD_FILE = HERE / "RESULTS.md"


def machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {gpu()}"


def gpu() -> str:
    """The GPU a benchmark ran on (asked of torch where the benchmark loaded it), or "no GPU"."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return f"{props.name} ({props.total_memory / 2**30:.0f} GiB)"
    return "no GPU"


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
        if "ratio" not in e:
            continue  # a section of its own (e.g. "episode"), written below
        ratio = f"{e['ratio']:.2f}×" if e["ratio"] is not None else "–"
        lines.append(
            f"| `{name}`: {e['description']} | {e['value']:,} {e['unit']} | {e['baseline']:,} {e['unit']} ({e['baseline_label']}) "
            f"| {ratio} | {e['date']} | {e['machine']} |"
        )
    if "episode" in results:
        lines += ["", *episode_lines(results["episode"])]
    extra = HERE / "NOTES.md"
    if extra.exists():
        lines += ["", extra.read_text().strip()]
    MD_FILE.write_text("\n".join(lines) + "\n")


def record_section(name: str, body: dict) -> None:
    """A figure group that is not one number beside a baseline (the episode's stages and hops)."""
    results = json.loads(JSON_FILE.read_text()) if JSON_FILE.exists() else {}
    results[name] = body
    JSON_FILE.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    _write_markdown(results)


def episode_lines(e: dict) -> list[str]:
    lines = [f"## The episode ({e['tag']} models, {e['date']}, {e.get('machine', machine())})", "",
             f"{e['shape']}: **{e['total_s']} s** from logline to the last animatic; {e['decisions']} automatic decisions; "
             f"review wait (apart) p50 {e['review_wait_s']['p50']} s, p99 {e['review_wait_s']['p99']} s.", "",
             "| stage | assets | first asset (s) | last asset (s) | model seconds |", "| --- | --- | --- | --- | --- |"]
    for stage, f in e["stages"].items():
        lines.append(f"| {stage} | {int(f['assets'])} | {f['first_s']} | {f['last_s']} | {f['model_s']} |")
    lines += ["", "| Helix's own hop | p50 (ms) | p99 (ms) | n |", "| --- | --- | --- | --- |"]
    for hop, h in e["hops_ms"].items():
        lines.append(f"| {hop.removesuffix('_ms').replace('_', ' ')} | {h['p50']:,} | {h['p99']:,} | {h['n']} |")
    return lines
