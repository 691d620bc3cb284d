"""How `helix status` looks: one rich renderable from `LocalStack.status()`."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table


def status_view(report: dict[str, Any]) -> Group:
    infra = Table("server", "running", "address", "answering", title="Infrastructure", title_justify="left")
    for name, row in report.get("infra", {}).items():
        if row.get("running") or name in ("kafka", "minio"):
            infra.add_row(name, _yes(row.get("running")), str(row.get("address") or "-"), _yes(row.get("answering")))
    services = Table("service", "pid", "address", "answering", title=f"Services (models: the {report.get('profile', 'tiny')} profile)",
                     title_justify="left")
    for name, row in report.get("services", {}).items():
        services.add_row(name, str(row.get("pid") or "-"), row.get("address") or "-", _yes(row.get("answering")))
    topics = Table("topic", "messages", "consumer lag (group: messages behind)", title="Topics", title_justify="left")
    for name, row in sorted(report.get("topics", {}).items()):
        if "detail" in row:
            topics.add_row(name, "-", row["detail"])
            continue
        lag = ", ".join(f"{g}: {n}" for g, n in sorted(row["lag"].items())) or "no consumer yet"
        topics.add_row(name, str(row["messages"]), lag)
    queue = Table("kind", "pending", "oldest (s)", "decided", title="Review queue", title_justify="left")
    review = report.get("review", {})
    if "error" in review:
        queue.add_row("-", "-", "-", f"gateway: {review['error']}")
    for kind, row in sorted((k, v) for k, v in review.items() if k != "error"):
        queue.add_row(kind, str(row["pending"]), str(row["oldest_s"]), str(row["decided"]))
    return Group(infra, services, topics, queue)


def _yes(value: object) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"
