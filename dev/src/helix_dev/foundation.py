"""`helix demo`: one asset event through the real broker into the real store, shown.

Foundation slice of the main job: a screenplay page is stored in the asset store (with its
sidecar), its `helix.asset.generated` event goes through Kafka, and a consumer on the other
side reads the event, fetches the object, checks its sha256 and downloads it through a
presigned URL, all in one trace.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from helix.assets import AssetStore
from helix.bus import HelixBus
from helix.events import Actor, AssetGenerated, AssetKind, Authorship, CloudEvent, Topic
from helix.logs import configure_logging
from helix.settings import load_settings
from helix.telemetry import setup_tracing

PAGE = """Title: The Lighthouse Keeper
Credit: written by a person, for the Helix demo

EXT. LIGHTHOUSE - NIGHT

Rain lashes the lamp room. MARA (60s) climbs the last steps.

MARA
Forty years, and the light has never gone out.

JONAH (O.S.)
Then tonight won't be the first.
"""


def run_demo(timeout: float = 60.0) -> None:
    asyncio.run(_demo(timeout))


async def _demo(timeout: float) -> None:
    console = Console()
    settings = load_settings(service_name="helix-demo")
    configure_logging("helix-demo", level="WARNING", json=False)
    spans = InMemorySpanExporter()
    setup_tracing(settings, extra_processors=(SimpleSpanProcessor(spans),))
    store = AssetStore(settings)
    await asyncio.to_thread(store.ensure_bucket)

    production_id = f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    stored = await asyncio.to_thread(
        store.put,
        production_id=production_id,
        kind=AssetKind.SCRIPT,
        asset_id="lighthouse-p1",
        data=PAGE.encode(),
        media_type="text/x-fountain",
        ext="fountain",
        provenance={"authorship": "human", "note": "sample page shipped with Helix"},
    )
    console.print(f"[green]✓[/] stored [bold]{stored.object_key}[/] (sha256 {stored.sha256[:16]}…) in {settings.s3_endpoint}")

    received: asyncio.Queue[CloudEvent[AssetGenerated]] = asyncio.Queue()
    bus = HelixBus(settings, source="/helix/demo")

    @bus.consumer(Topic.ASSETS_GENERATED, group="helix-demo", handles=(AssetGenerated,))
    async def on_asset(event: CloudEvent[AssetGenerated]) -> None:
        """The demo's consumer: fetch what the event points to."""
        await received.put(event)

    async with bus:
        data = AssetGenerated(
            **stored.event_fields(),
            authorship=Authorship.HUMAN,
            generated_by=Actor(subject="helix-demo", kind="service"),
            generated_at=datetime.now(UTC),
            inputs={"sample": "The Lighthouse Keeper, page 1"},
        )
        with trace.get_tracer("helix.demo").start_as_current_span("demo.produce"):
            sent = await bus.publish(data, event_id=str(uuid.uuid4()))
        console.print(f"[green]✓[/] published {sent.type} {sent.id} to {settings.topic(Topic.ASSETS_GENERATED)} at {settings.kafka_bootstrap}")
        while True:
            event = await asyncio.wait_for(received.get(), timeout)
            if event.id == sent.id:  # earlier demo runs' events may still be in the topic
                break

    body = await asyncio.to_thread(store.get, event.data.object_key)  # checks sha256
    sidecar = await asyncio.to_thread(store.sidecar, event.data.object_key)
    url = await asyncio.to_thread(store.presign, event.data.object_key)
    async with httpx.AsyncClient() as http:
        downloaded = (await http.get(url)).content
    trace_ids = {format(s.context.trace_id, "032x") for s in spans.get_finished_spans()}

    console.print(f"[green]✓[/] consumed it; object fetched and sha256 verified ({len(body)} bytes)")
    console.print(f"[green]✓[/] presigned download ({'matches' if downloaded == body else 'DIFFERS'}): {url[:90]}…")
    console.print(f"[green]✓[/] trace ids across the hop: {', '.join(sorted(trace_ids))}")
    console.print(Panel(Syntax(event.model_dump_json(indent=2), "json"), title="the event as consumed"))
    console.print(Panel(Syntax(body.decode(), "text"), title=event.data.object_key))
    console.print(Panel(Syntax(__import__("json").dumps(sidecar, indent=2), "json"), title="sidecar (lineage)"))
