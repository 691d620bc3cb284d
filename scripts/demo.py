"""`make demo`: one production through Helix's human-in-the-loop core, on real services.

Starts the review service and the gateway as their own processes (on the Kafka and MinIO
that `helix infra up` runs), then, over HTTP and Kafka, as the people involved would:
a studio system creates a production and requests a script; a generated page arrives as
a `helix.asset.generated` event (the writer service comes with issue 4, so the demo
stores the page and publishes its event in its place); a reviewer finds it in the queue
with a consent finding, is refused approval until an admin records the performer's
consent, approves, and the decision goes out on Kafka once, with an audit trail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
from confluent_kafka import Consumer
from rich.console import Console
from rich.panel import Panel

from helix.assets import AssetStore
from helix.auth import Role, mint_token
from helix.bus import HelixBus
from helix.events import Actor, AssetGenerated, AssetKind, Topic
from helix.infra.process import free_port
from helix.logs import configure_logging
from helix.settings import load_settings

console = Console()
PAGE = """Title: The Lighthouse Keeper

EXT. LIGHTHOUSE - NIGHT

Rain lashes the lamp room. MARA QUINN (60s) climbs the last steps.

MARA QUINN
Forty years, and the light has never gone out.
"""


@contextlib.contextmanager
def service(name: str, command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    log = open(f".helix/demo-{name}.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    console.print(f"[green]✓[/] started {name} (pid {proc.pid}, log .helix/demo-{name}.log)")
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def step(text: str) -> None:
    console.print(f"\n[bold cyan]▶ {text}[/]")


async def main() -> None:
    configure_logging("demo", level="WARNING", json=False)
    settings = load_settings(service_name="demo")
    grpc_port, http_port = free_port(), free_port()
    common = {"HELIX_LOG_LEVEL": "WARNING", "HELIX_REVIEW_GRPC_ADDRESS": f"127.0.0.1:{grpc_port}"}
    bin_dir = os.path.dirname(sys.executable)
    with service("review", [f"{bin_dir}/helix-review"], common), \
            service("gateway", [f"{bin_dir}/helix-gateway", "--port", str(http_port)], common):
        base = f"http://127.0.0.1:{http_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
            else:
                raise SystemExit("the gateway did not become ready; see .helix/demo-gateway.log")
            console.print(f"[green]✓[/] gateway ready at {base} (OpenAPI: {base}/docs)")
            await run_story(http, settings)


def auth(settings, subject: str, *roles: Role, productions: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, subject, list(roles), productions=productions)}"}


async def run_story(http: httpx.AsyncClient, settings) -> None:
    studio = auth(settings, "studio-pipeline", Role.STUDIO_SYSTEM)
    admin = auth(settings, "ada@studio.example", Role.ADMIN)

    step("A studio system creates a production and asks for a script")
    production = (await http.post("/productions", headers=studio, json={
        "title": "The Lighthouse Keeper", "logline": "An old keeper must keep the light burning through one last storm.",
        "style": "coastal noir", "target_locales": ["de-DE", "ja-JP"], "performers": ["Mara Quinn"],
    })).raise_for_status().json()
    pid = production["production_id"]
    director = auth(settings, "dana@studio.example", Role.DIRECTOR, productions=[pid])
    reviewer = auth(settings, "rhea@studio.example", Role.REVIEWER, productions=[pid])
    job = (await http.post(f"/productions/{pid}/requests/script", headers=director, json={
        "logline": production["logline"]})).raise_for_status().json()
    console.print(f"production [bold]{pid}[/]; job {job['job_id']} → helix.writer.requests.v1")

    step("The generated page arrives (standing in for the writer service of issue 4)")
    store = AssetStore(settings)
    store.ensure_bucket()
    stored = store.put(production_id=pid, kind=AssetKind.SCRIPT, asset_id=f"script-{uuid.uuid4().hex[:8]}", data=PAGE.encode(),
                       media_type="text/x-fountain", ext="fountain")
    async with HelixBus(settings, source="/helix/writer") as bus:
        await bus.publish(AssetGenerated(
            **stored.event_fields(), job_id=job["job_id"], model={"id": "helix/tiny-llama", "revision": "demo"},
            inputs={"logline": production["logline"]}, generated_by=Actor(subject="writer", kind="service"),
            generated_at=datetime.now(UTC), requested_by=Actor(subject="dana@studio.example")))
    console.print(f"{stored.object_key} stored (sha256 {stored.sha256[:12]}…), helix.asset.generated published")

    step("A reviewer opens the queue")
    deadline = time.monotonic() + 60
    while not (items := (await http.get("/reviews/queue", headers=reviewer)).raise_for_status().json()["items"]):
        if time.monotonic() > deadline:
            raise SystemExit("the asset never reached the review queue; see .helix/demo-review.log")
        await asyncio.sleep(0.2)
    item = items[0]
    console.print(f"item {item['item_id']}, risk {item['risk_score']:.0f}")
    for f in item["findings"]:
        console.print(f"  • [{'red' if f['blocks_approval'] else 'yellow'}]{f['severity']}[/] {f['check']}: {f['message']}")

    step("She claims it and tries to approve")
    (await http.post("/reviews/claim", headers=reviewer, json={"lease_seconds": 600})).raise_for_status()
    refused = await http.post(f"/reviews/items/{item['item_id']}/decision", headers=reviewer, json={"outcome": "approved"})
    console.print(f"HTTP {refused.status_code}: {refused.json()['detail']}")

    step("An admin records Mara Quinn's consent; the approval goes through")
    (await http.post("/consents", headers=admin, json={"performer": "Mara Quinn", "scopes": ["name", "likeness", "voice"],
                                                        "production_ids": [pid], "reason": "signed release, contract 2026-114"})).raise_for_status()
    decision = (await http.post(f"/reviews/items/{item['item_id']}/decision", headers=reviewer,
                                json={"outcome": "approved", "notes": "consent on file"})).raise_for_status().json()
    console.print(f"decision {decision['decision_id']}: {decision['outcome']} by {decision['reviewer']['subject']}")

    step("Downstream sees it: one event on helix.review.decisions.v1, the asset approved, the audit trail")
    event = await asyncio.to_thread(find_decision, settings, decision["event_id"])
    console.print(Panel(json.dumps(event, indent=2), title="helix.review.decisions.v1", expand=False))
    deadline = time.monotonic() + 30  # the gateway's read model follows Kafka: eventually consistent
    while (asset := await http.get(f"/assets/{stored.key.asset_id}", headers=director)).status_code != 200 or \
            asset.json().get("review_status") != "approved":
        if time.monotonic() > deadline:
            raise SystemExit(f"the gateway's read model did not show the approval: {asset.status_code} {asset.text[:200]}")
        await asyncio.sleep(0.2)
    console.print(f"asset review status in the gateway: [bold]{asset.json()['review_status']}[/]")
    download = (await http.get(f"/assets/{stored.key.asset_id}/download", headers=director)).raise_for_status().json()
    console.print(f"presigned download: {download['url'][:80]}…")
    for entry in (await http.get("/audit", headers=admin, params={"production_id": pid})).raise_for_status().json()["items"]:
        console.print(f"  audit: {entry['at']} {entry['actor']['subject']} {entry['action']} {entry.get('reason', '')}")


def find_decision(settings, event_id: str) -> dict:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"demo-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([settings.topic(Topic.REVIEW_DECISIONS)])
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error() and json.loads(msg.value())["id"] == event_id:
                return json.loads(msg.value())
    finally:
        consumer.close()
    raise SystemExit("the decision event did not reach Kafka")


if __name__ == "__main__":
    asyncio.run(main())
