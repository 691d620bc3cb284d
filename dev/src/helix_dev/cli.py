"""The development commands the `helix` command gains when this package is installed
(entry point `helix.commands`): `helix infra …` (the local servers), `helix up|down|status`
(every service as a process) and `helix demo` (the whole production)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from helix_dev.infra.local import COMPONENTS, DEFAULT_COMPONENTS, LocalInfra

console = Console()
infra_app = typer.Typer(help="Local Kafka, MinIO, SeaweedFS and PostgreSQL on loopback, no Docker needed.", no_args_is_help=True)
models_app = typer.Typer(help="Tiny random-weight models of the real architectures, for tests and local runs.", no_args_is_help=True)


Components = Annotated[
    list[str] | None,
    typer.Argument(help=f"Which of {', '.join(COMPONENTS)} (default: {' and '.join(DEFAULT_COMPONENTS)})"),
]


def _components(names: list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    chosen = tuple(names or default)
    unknown = sorted(set(chosen) - set(COMPONENTS))
    if unknown:
        raise typer.BadParameter(f"unknown component(s) {', '.join(unknown)}; choose from {', '.join(COMPONENTS)}")
    return chosen


@infra_app.command("up")
def infra_up(components: Components = None) -> None:
    """Start Kafka and MinIO (fetching/building them the first time); idempotent."""
    infra = LocalInfra()
    try:
        env = infra.up(_components(components, DEFAULT_COMPONENTS))
    except (RuntimeError, TimeoutError) as exc:
        console.print(f"[red]infra up failed:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"\nKafka bootstrap: [bold]{env['HELIX_KAFKA_BOOTSTRAP']}[/]")
    console.print(f"S3 endpoint:     [bold]{env['HELIX_S3_ENDPOINT']}[/] (bucket helix-assets)")
    if "HELIX_SEAWEEDFS_S3_ENDPOINT" in env:
        console.print(f"SeaweedFS S3:    [bold]{env['HELIX_SEAWEEDFS_S3_ENDPOINT']}[/]")
    console.print(f"Settings for Helix processes: {infra.home / 'infra.env'} (read automatically in this checkout)")


@infra_app.command("status")
def infra_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show what runs, where, and whether it answers."""
    report = LocalInfra().status()
    if as_json:
        console.print_json(json.dumps(report))
        return
    table = Table("component", "running", "pid", "address", "answering")
    for name, row in report.items():
        table.add_row(name, "yes" if row["running"] else "no", str(row["pid"] or "-"), str(row["address"] or "-"), "yes" if row["answering"] else "no")
    console.print(table)


@infra_app.command("down")
def infra_down(components: Components = None) -> None:
    """Stop the local servers (data is kept under .helix/infra)."""
    stopped = LocalInfra().down(_components(components, COMPONENTS))
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@infra_app.command("env")
def infra_env() -> None:
    """Print `export HELIX_...` lines for a shell: eval "$(helix infra env)"."""
    for key, value in LocalInfra().env().items():
        print(f"export {key}={value}")


# --- the whole stack ----------------------------------------------------------------------------


Services = Annotated[list[str] | None, typer.Argument(help="Which services (default: all: review, writer, visual, localize, gateway)")]


Profile = Annotated[str, typer.Option("--profile", help="real: the real small models from the package registries where they "
                                                      "exist (readable words, real voices); tiny: random-weight models everywhere "
                                                      "(fast; noise)")]


def up(services: Services = None, profile: Profile = "tiny") -> None:
    """Kafka, MinIO and every Helix service as processes on this machine, with the models of a
    profile (settings in the environment win); waits until each answers."""
    from helix_dev.stack import SERVICES, LocalStack

    try:
        state = LocalStack().up(tuple(services or SERVICES), profile=profile)
    except (RuntimeError, TimeoutError, ValueError) as exc:
        console.print(f"[red]helix up failed:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"\nGateway: [bold]{state.gateway_url}[/]  (OpenAPI {state.gateway_url}/docs, review console {state.gateway_url}/console)")
    console.print("`helix status --watch` shows services, topics, consumer lag and the review queue; `helix down` stops everything.")


def down(keep_infra: Annotated[bool, typer.Option("--keep-infra", help="stop the services only")] = False) -> None:
    """Stop every Helix service, then the local servers (data is kept under .helix)."""
    from helix_dev.stack import LocalStack

    stopped = LocalStack().down(infra=not keep_infra)
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def status(
    watch: Annotated[bool, typer.Option("--watch", "-w", help="refresh until Ctrl-C")] = False,
    every: Annotated[float, typer.Option(help="seconds between refreshes")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Services, topics, consumer lag and the review queue, live."""
    import time

    from rich.live import Live

    from helix_dev.stack import LocalStack
    from helix_dev.views import status_view

    stack = LocalStack()
    if as_json:
        print(json.dumps(stack.status(), default=str))
        return
    if not watch:
        console.print(status_view(stack.status()))
        return
    with Live(status_view(stack.status()), console=console, refresh_per_second=4) as live:
        try:
            while True:
                time.sleep(every)
                live.update(status_view(stack.status()))
        except KeyboardInterrupt:
            pass


def demo(
    keep: Annotated[bool, typer.Option("--keep", help="leave the stack running afterwards (helix down stops it)")] = False,
    profile: Profile = "real",
    foundation: Annotated[bool, typer.Option("--foundation", help="only one asset event through the broker into the store")] = False,
) -> None:
    """The main job: a production from a logline to an animatic per target locale, reviewed over the API."""
    if foundation:
        from helix_dev.foundation import run_demo

        run_demo()
        return
    from helix_dev.demo import run

    raise typer.Exit(run(keep=keep, profile=profile))


TINY_KINDS = ("llama", "sd", "controlnet", "ip-adapter", "lora", "ltx-i2v", "marian", "vits", "speaker-encoder")


@models_app.command("tiny")
def models_tiny(
    directory: Annotated[Path, typer.Argument(help="folder to write the model into (Hugging Face / diffusers layout)")],
    kind: Annotated[str, typer.Option(help="llama: a causal LM (writer); sd: Stable Diffusion (visual); controlnet, ip-adapter, lora: layout, "
                                           "reference and character conditioning for the tiny sd (visual); ltx-i2v: LTX-Video image-to-video "
                                           "(visual: motion); marian: translation, "
                                           "vits: speech (localize); speaker-encoder: voices for likeness screening (review)")] = "llama",
    seed: Annotated[int, typer.Option(help="weights seed; same seed, same bytes")] = 0,
) -> None:
    """Build a tiny random-weight model of a real architecture, with a locally trained tokenizer."""
    if kind not in TINY_KINDS:
        raise typer.BadParameter(f"unknown kind {kind!r}; choose from {', '.join(TINY_KINDS)}")
    try:
        if kind in ("sd", "controlnet", "ip-adapter", "lora"):
            from helix.models.diffusion import tree_hash
            from helix_dev.models.tiny_diffusion import (
                build_tiny_controlnet,
                build_tiny_ip_adapter,
                build_tiny_lora,
                build_tiny_sd,
            )

            builder = {"sd": build_tiny_sd, "controlnet": build_tiny_controlnet, "ip-adapter": build_tiny_ip_adapter,
                       "lora": build_tiny_lora}[kind]
            folder = builder(directory, seed=seed)
            revision = tree_hash(folder)
        elif kind == "ltx-i2v":
            from helix.models.diffusion import tree_hash
            from helix_dev.models.tiny_video import build_tiny_ltx_i2v

            folder = build_tiny_ltx_i2v(directory, seed=seed)
            revision = tree_hash(folder)
        elif kind in ("marian", "vits", "speaker-encoder"):
            from helix.models.loading import weights_hash
            from helix_dev.models.tiny_localize import build_tiny_marian, build_tiny_speaker_encoder, build_tiny_vits

            speech = {"marian": build_tiny_marian, "vits": build_tiny_vits, "speaker-encoder": build_tiny_speaker_encoder}[kind]
            folder = speech(directory, seed=seed)
            revision = weights_hash(folder)
        else:
            from helix.models.loading import weights_hash
            from helix_dev.models.tiny import build_tiny_llama

            folder = build_tiny_llama(directory, seed=seed)
            revision = weights_hash(folder)
    except ImportError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"tiny {kind} model in [bold]{folder}[/] (revision {revision})")


REAL_MODELS = ("whisper-base", "piper-en-joe", "smollm2")


@models_app.command("real")
def models_real(
    only: Annotated[list[str] | None, typer.Argument(help=f"some of: {', '.join(REAL_MODELS)} (default: all)")] = None,
) -> None:
    """Make the real small models that ship inside PyPI packages ready to load (converted once, cached)."""
    from helix.models import packaged

    makers = {"whisper-base": packaged.whisper_base, "piper-en-joe": packaged.piper_joe, "smollm2": packaged.smollm2}
    unknown = sorted(set(only or ()) - set(makers))
    if unknown:
        raise typer.BadParameter(f"unknown model {', '.join(unknown)}; choose from {', '.join(REAL_MODELS)}")
    for name in only or REAL_MODELS:
        with console.status(f"preparing {name}…"):
            try:
                path = makers[name]()
            except packaged.PackageMissing as exc:
                console.print(f"[red]{exc}[/]")
                raise typer.Exit(1) from None
        console.print(f"[green]✓[/] {name}: [bold]{path}[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(infra_app, name="infra")
    app.add_typer(models_app, name="models")
    app.command()(up)
    app.command()(down)
    app.command()(status)
    app.command()(demo)
