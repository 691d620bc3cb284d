"""`make demo`: one production through Helix — write, review, approve — on real services.

Starts the writer, the review service and the gateway as their own processes (on the
Kafka and MinIO that `helix infra up` runs), then, over HTTP, as the people involved
would: a studio system creates a production; a director requests a script; the writer
generates it level by level (title, characters, scenes, places, dialogue, Fountain) with
the configured model — by default the tiny random Llama Helix builds itself, so the words
are noise while everything around them is real; every level lands in the review queue;
the characters level names a performer, so its approval is refused until an admin records
her consent; the reviewer approves the levels; the approved script sets off its
storyboards; every decision goes out on Kafka once, with an audit trail.
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
from pathlib import Path

import httpx
from confluent_kafka import Consumer
from rich.console import Console
from rich.panel import Panel

from helix.auth import Role, mint_token
from helix.events import Topic
from helix.infra.process import free_port
from helix.logs import configure_logging
from helix.report import fetch_ledger, print_ledger, write_chart
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
    common["HELIX_WRITER_GRPC_ADDRESS"] = f"127.0.0.1:{free_port()}"
    with service("writer", [f"{bin_dir}/helix-writer"], common), service("review", [f"{bin_dir}/helix-review"], common), \
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

    step("A studio system creates a production")
    production = (await http.post("/productions", headers=studio, json={
        "title": "The Lighthouse Keeper", "logline": "An old keeper must keep the light burning through one last storm.",
        "style": "coastal noir", "target_locales": ["de-DE", "ja-JP"], "performers": ["Mara Quinn"],
    })).raise_for_status().json()
    pid = production["production_id"]
    director = auth(settings, "dana@studio.example", Role.DIRECTOR, productions=[pid])
    reviewer = auth(settings, "rhea@studio.example", Role.REVIEWER, productions=[pid])
    console.print(f"production [bold]{pid}[/]")

    step("The director requests a script; the writer writes it level by level")
    job = (await http.post(f"/productions/{pid}/requests/script", headers=director, json={"max_scenes": 3, "seed": 7})).raise_for_status().json()
    seen_steps: set[str] = set()
    deadline = time.monotonic() + 600
    while True:
        status = (await http.get(f"/jobs/{job['job_id']}", headers=director)).json()
        if status.get("step") and status["step"] not in seen_steps:
            seen_steps.add(status["step"])
            console.print(f"  job {status['status']}: {status['step']} ({status.get('fraction') or 0:.0%})")
        if status.get("status") in ("completed", "failed"):
            break
        if time.monotonic() > deadline:
            raise SystemExit("the script job did not finish; see .helix/demo-writer.log")
        await asyncio.sleep(0.5)
    if status["status"] == "failed":
        raise SystemExit(f"the writer failed: {status.get('error')}")
    console.print(f"[green]✓[/] job completed: {len(status.get('asset_ids') or [])} assets")

    step("The reviewer works the queue, highest risk first")
    expected = len(status.get("asset_ids") or [])
    deadline = time.monotonic() + 60
    while len(items := (await http.get("/reviews/queue", headers=reviewer, params={"limit": 100})).json()["items"]) < expected:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    for item in items:
        flags = ", ".join(f"{f['severity']} {f['check']}" for f in item["findings"]) or "no findings"
        console.print(f"  {item['asset']['asset_id']:<40} risk {item['risk_score']:>5.0f}  {flags}")

    decided = 0
    consent_recorded = False
    while True:
        claim = await http.post("/reviews/claim", headers=reviewer, json={"lease_seconds": 300})
        if claim.status_code == 204:
            break
        item = claim.raise_for_status().json()
        answer = await http.post(f"/reviews/items/{item['item_id']}/decision", headers=reviewer, json={"outcome": "approved"})
        if answer.status_code == 409 and not consent_recorded:
            console.print(f"  [yellow]refused[/] {item['asset']['asset_id']}: {answer.json()['detail']}")
            step("An admin records Mara Quinn's consent")
            (await http.post("/consents", headers=admin, json={"performer": "Mara Quinn", "scopes": ["name", "likeness", "voice"],
                                                                "production_ids": [pid], "reason": "signed release, contract 2026-114"})).raise_for_status()
            consent_recorded = True
            answer = await http.post(f"/reviews/items/{item['item_id']}/decision", headers=reviewer, json={"outcome": "approved"})
        answer.raise_for_status()
        decided += 1
        console.print(f"  approved {item['asset']['asset_id']}")
        last_event = answer.json()["event_id"]
    console.print(f"[green]✓[/] {decided} decisions")

    step("Downstream: the decision on Kafka, the approved script's storyboards, the Fountain file, the audit")
    event = await asyncio.to_thread(find_decision, settings, last_event)
    console.print(f"helix.review.decisions.v1: {event['type']} {event['data']['asset_id']} by {event['data']['reviewer']['subject']}")
    deadline = time.monotonic() + 120
    while not (boards := [i for i in (await http.get("/reviews/queue", headers=reviewer)).json()["items"] if i["asset"]["kind"] == "storyboard"]):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    console.print(f"storyboards waiting for review after the script's approval: {len(boards)}")
    for board in boards:  # the reviewer approves them too: they are the production's finished minutes
        claimed = (await http.post("/reviews/claim", headers=reviewer, json={"item_id": board["item_id"]})).raise_for_status()
        if claimed.status_code == 200:
            (await http.post(f"/reviews/items/{board['item_id']}/decision", headers=reviewer, json={"outcome": "approved"})).raise_for_status()
    console.print(f"[green]✓[/] {len(boards)} storyboards approved")
    fountain = next((a for a in status.get("asset_ids") or [] if a.endswith("-fountain")), None)
    if fountain:
        url = (await http.get(f"/assets/{fountain}/download", headers=director)).raise_for_status().json()["url"]
        text = (await http.get(url)).text
        console.print(Panel(text[:1200], title=f"{fountain} (tiny random model: the words are noise, the format is real)", expand=False))
    entries = (await http.get("/audit", headers=admin, params={"production_id": pid})).raise_for_status().json()["items"]
    console.print(f"audit log: {len(entries)} entries, e.g. " + "; ".join(f"{e['actor']['subject']} {e['action']}" for e in entries[:4]))

    step("What it cost and who made it: the ledger (helix report) and the credits")
    await asyncio.sleep(1.0)  # the last decisions reach the gateway's read model over Kafka
    ledger = await asyncio.to_thread(fetch_ledger, str(http.base_url), admin["Authorization"].split()[1], pid)
    print_ledger(ledger, console)
    chart = write_chart(ledger, Path(".helix") / f"report-{pid}.png")
    credits = (await http.get(f"/productions/{pid}/credits", headers=director, params={"format": "markdown"})).raise_for_status().text
    credits_path = Path(".helix") / f"credits-{pid}.md"
    credits_path.write_text(credits)
    console.print(f"chart of where the time went: [bold]{chart}[/]; credits report: [bold]{credits_path}[/]")
    console.print(f"while a gateway runs, `helix report {pid} --gateway URL` prints the same ledger")


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
