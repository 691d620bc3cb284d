"""`helix report PRODUCTION`: a production's cost and time ledger from the gateway, as a
table in the terminal and a chart (PNG) of where the time went."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

PHASES = (
    ("model_seconds", "model", "#0b5cad"),
    ("queue_seconds", "waiting for a generator", "#9aa5b1"),
    ("review_wait_seconds", "waiting for review", "#e0a100"),
    ("review_seconds", "reviewing (people)", "#1d6b2f"),
)


class ReportError(RuntimeError):
    """The gateway could not give the ledger; the message says why."""


def fetch_ledger(gateway: str, token: str, production_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
    try:
        response = httpx.get(f"{gateway.rstrip('/')}/productions/{production_id}/ledger", headers={"Authorization": f"Bearer {token}"},
                             timeout=timeout)
    except httpx.HTTPError as exc:
        raise ReportError(f"the gateway at {gateway} did not answer ({type(exc).__name__}); is it running?") from None
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ReportError(f"the gateway refused ({response.status_code}): {detail}")
    return response.json()


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.3f} h" if seconds >= 360 else f"{seconds:.1f} s"


def print_ledger(ledger: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"Ledger of {ledger['production_id']}", show_footer=True)
    table.add_column("Kind", footer="total")
    table.add_column("Assets", justify="right", footer=str(ledger["total"]["assets"]))
    for key, label, _colour in PHASES:
        table.add_column(label.capitalize(), justify="right", footer=_hours(ledger["total"][key]))
    table.add_column("GPU", justify="right", footer=_hours(ledger["total"]["gpu_seconds"]))
    for kind, totals in ledger["by_kind"].items():
        table.add_row(kind, str(totals["assets"]), *(_hours(totals[key]) for key, _l, _c in PHASES), _hours(totals["gpu_seconds"]))
    console.print(table)
    per_minute = ledger.get("per_finished_minute")
    if per_minute:
        console.print(f"Per finished minute ({ledger['finished_minutes']:.2f} min of approved storyboards): "
                      + ", ".join(f"{label} {_hours(per_minute[key])}" for key, label, _c in PHASES))
    else:
        console.print("No approved storyboard yet: nothing to divide by finished minutes.")


def write_chart(ledger: dict[str, Any], path: Path) -> Path:
    """A stacked bar per kind: model time, waiting, review; the PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    import matplotlib.pyplot as plt

    kinds = list(ledger["by_kind"]) or ["(none)"]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.5 * len(kinds)), dpi=120)
    left = [0.0] * len(kinds)
    for key, label, colour in PHASES:
        minutes = [ledger["by_kind"].get(k, {}).get(key, 0.0) / 60 for k in kinds]
        ax.barh(kinds, minutes, left=left, label=label, color=colour)
        left = [a + b for a, b in zip(left, minutes, strict=True)]
    ax.set_xlabel("minutes")
    ax.set_title(f"Where the time went: {ledger['production_id']}")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
