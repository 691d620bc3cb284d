"""`helix`: the command-line tool for people running Helix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Helix: an AI-native studio production pipeline.", no_args_is_help=True, pretty_exceptions_show_locals=False)
events_app = typer.Typer(help="Event contracts.", no_args_is_help=True)
app.add_typer(events_app, name="events")
dlq_app = typer.Typer(help="Dead-lettered messages: list, inspect, replay after a fix.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
c2pa_app = typer.Typer(help="Content Credentials: signing chains.", no_args_is_help=True)
app.add_typer(c2pa_app, name="c2pa")
console = Console()

@events_app.command("schemas")
def events_schemas(directory: Annotated[Path, typer.Argument()] = Path("docs/events")) -> None:
    """Write the JSON Schema of every event type (envelope + data) and of every stored document."""
    from helix.events.schemas import export_document_schemas, export_schemas

    for path in [*export_schemas(directory), *export_document_schemas(directory)]:
        console.print(str(path))


@c2pa_app.command("dev-chain")
def c2pa_dev_chain(folder: Annotated[Path | None, typer.Argument(help="where to write chain.pem, key.pem, root.pem (default .helix/c2pa)")] = None,
                   ) -> None:
    """A development signing chain (ES256 root CA and signer), made once; for local use and test clusters only."""
    from helix.provenance import dev_chain

    for role, path in dev_chain(folder).items():
        console.print(f"{role}: {path}")
    console.print("Set HELIX_C2PA_CHAIN, HELIX_C2PA_KEY and HELIX_C2PA_TRUST_ANCHORS to these files (or a studio's own chain).")


@app.command()
def token(
    subject: Annotated[str, typer.Argument(help="who the token is for, e.g. rhea@studio.example")],
    role: Annotated[list[str], typer.Option("--role", "-r", help="studio-system, director, reviewer or admin (repeatable)")],
    production: Annotated[list[str] | None, typer.Option("--production", "-p", help="assigned production id, or * (repeatable)")] = None,
    hours: Annotated[float, typer.Option(help="lifetime in hours")] = 8.0,
) -> None:
    """Mint a local bearer token (HS256, signed with HELIX_AUTH_SECRET)."""
    from datetime import timedelta

    from helix.auth import InvalidToken, Role, mint_token
    from helix.settings import load_settings

    try:
        roles = [Role(r) for r in role]
        print(mint_token(load_settings(), subject, roles, productions=production or [], ttl=timedelta(hours=hours)))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except InvalidToken as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


DlqFilter = Annotated[str, typer.Option(help="only this (DLQ kind, original topic suffix, consumer group or event type)")]


@dlq_app.command("list")
def dlq_list(kind: DlqFilter = "", topic: DlqFilter = "", group: DlqFilter = "", event_type: DlqFilter = "",
             as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False) -> None:
    """Every dead-lettered message: where it came from, which group failed it, and why."""
    from helix import dlq
    from helix.settings import load_settings

    letters = dlq.select(dlq.read(load_settings()), kind=kind, topic=topic, group=group, event_type=event_type)
    if as_json:
        for letter in letters:
            print(json.dumps(letter.summary()))
        return
    table = Table(title=f"{len(letters)} dead-lettered messages")
    for column in ("partition:offset", "at", "from topic", "group", "kind", "event type", "reason"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        row = letter.summary()
        table.add_row(row["coordinates"], row["at"][:19], row["topic"], row["group"], row["kind"], row["type"], row["reason"][:200])
    console.print(table)


@dlq_app.command("show")
def dlq_show(coordinates: Annotated[str, typer.Argument(help="partition:offset, as `helix dlq list` shows it")]) -> None:
    """One dead-lettered message: its headers and its value (JSON pretty-printed)."""
    from helix import dlq
    from helix.settings import load_settings

    found = dlq.select(dlq.read(load_settings()), coordinates=[coordinates])
    if not found:
        console.print(f"[red]no dead-lettered message at {coordinates}[/]")
        raise typer.Exit(1)
    letter = found[0]
    for key, value in letter.headers:
        console.print(f"[bold]{key}[/]: {value.decode('utf-8', 'replace')}")
    event = letter.event()
    console.print(json.dumps(event, indent=2, ensure_ascii=False) if event is not None else letter.value.decode("utf-8", "replace"))


@dlq_app.command("replay")
def dlq_replay(
    coordinates: Annotated[list[str] | None, typer.Argument(help="partition:offset of each message to replay")] = None,
    all_matching: Annotated[bool, typer.Option("--all", help="every message matching the filters")] = False,
    kind: DlqFilter = "", topic: DlqFilter = "", group: DlqFilter = "", event_type: DlqFilter = "",
    dry_run: Annotated[bool, typer.Option(help="say what would be replayed, send nothing")] = False,
) -> None:
    """Send messages back to the topic they came from, exactly as they were (after a fix)."""
    from helix import dlq
    from helix.settings import load_settings

    if not coordinates and not all_matching:
        raise typer.BadParameter("name messages by partition:offset, or pass --all (with filters)")
    settings = load_settings()
    letters = dlq.select(dlq.read(settings), coordinates=coordinates or [], kind=kind, topic=topic, group=group, event_type=event_type)
    missing = sorted(set(coordinates or []) - {d.coordinates for d in letters})
    if missing:
        console.print(f"[red]no dead-lettered message at {', '.join(missing)}[/]")
        raise typer.Exit(1)
    for letter in letters:
        console.print(f"{'would replay' if dry_run else 'replaying'} {letter.coordinates} → {letter.dlq('topic')} ({letter.dlq('kind')})")
    if not dry_run:
        try:
            sent = dlq.replay(settings, letters)
        except RuntimeError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
        console.print(f"[green]✓[/] {len(sent)} replayed")


@app.command()
def report(
    production: Annotated[str, typer.Argument(help="production id")],
    gateway: Annotated[str, typer.Option(envvar="HELIX_GATEWAY_URL", help="the gateway's base URL")] = "http://127.0.0.1:8080",
    token: Annotated[str | None, typer.Option(envvar="HELIX_TOKEN", help="a bearer token (default: a local admin token)")] = None,
    chart: Annotated[Path | None, typer.Option(help="where to write the chart (default: .helix/report-PRODUCTION.png)")] = None,
) -> None:
    """Print a production's cost and time ledger and write a chart of where the time went."""
    from helix.auth import Role, mint_token
    from helix.report import ReportError, fetch_ledger, print_ledger, write_chart
    from helix.settings import load_settings

    bearer = token or mint_token(load_settings(), "helix-report", [Role.ADMIN])
    try:
        ledger = fetch_ledger(gateway, bearer, production)
    except ReportError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    print_ledger(ledger, console)
    written = write_chart(ledger, chart or Path(".helix") / f"report-{production}.png")
    console.print(f"chart: [bold]{written}[/]")


def _plugins() -> None:
    """Commands other installed packages add (`helix.commands` entry points): the development
    package adds `infra`, `up`, `down`, `status` and `demo`; service images do not carry it."""
    from importlib.metadata import entry_points

    for plugin in entry_points(group="helix.commands"):
        plugin.load()(app)


_plugins()


if __name__ == "__main__":
    app()
