"""Review throughput in the browser: decisions per minute a scripted keyboard-only reviewer
reaches in the review console on a mixed queue (every asset kind), and the server time per
action (p50/p99), each beside a baseline from the same run.

Three reviewers work three equal queues (each its own production) on one gateway, review
service, Kafka and MinIO:
1. the console as shipped (headless Chromium, keys only: `a` approves as soon as an item
   is on screen; the next two items are fetched ahead);
2. baseline: the same console with the look-ahead off (`?prefetch=0`), i.e. a console that
   fetches each item when it is opened;
3. reference: a script on the REST API with httpx (claim, read the bytes, decide), no page
   at all: the most a reviewer could reach if the screen cost nothing.
Server time per action is the browser's Resource Timing (request start to first byte) of
the console's calls in run 1; its baseline is the same calls' time in run 3.

    uv run python bench/review_throughput.py [--items 200]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from results import record  # noqa: E402

from helix.logs import configure_logging  # noqa: E402
from helix.settings import HelixSettings, load_settings  # noqa: E402
from tests.integration.console_seed import seed_every_kind  # noqa: E402
from tests.integration.gateway_harness import Stack, create_production, gateway_stack  # noqa: E402

ACTIONS = {"claim": "/reviews/claim", "decision": "/decision", "item view": "/console/items/", "content": "/content"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else 0.0


async def queue_of(stack: Stack, items: int, label: str) -> str:
    pid = (await create_production(stack, title=f"Bench {label}"))["production_id"]
    seeded = 0
    while seeded < items:
        seeded += (await seed_every_kind(stack.settings, pid, requested_by="dora", tag=f"{label}{seeded}")).items
    async with stack.client(stack.token("counter", "reviewer", productions=[pid])) as reviewer:
        for _ in range(1200):  # until the review service has screened every seeded asset
            queued, cursor = 0, None
            while True:
                page = (await reviewer.get("/reviews/queue", params={"limit": 200, **({"cursor": cursor} if cursor else {})})).json()
                queued += len(page["items"])
                if not (cursor := page["next_cursor"]):
                    break
            if queued >= seeded:
                break
            await asyncio.sleep(0.25)
    print(f"  {label}: {seeded} items queued in production {pid}")
    return pid


async def browser_run(browser, stack: Stack, pid: str, *, prefetch: bool) -> tuple[float, int, dict[str, list[float]]]:
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{stack.url}/console{'' if prefetch else '?prefetch=0'}")
    await page.evaluate("performance.setResourceTimingBufferSize(100000)")
    await page.keyboard.type(stack.token(f"bench-{pid}", "reviewer", productions=[pid]))
    await page.keyboard.press("Enter")
    try:
        await page.wait_for_selector("body[data-ready=true]", timeout=120_000)
    except Exception:
        raise SystemExit(f"the console did not come up: {await page.text_content('#status')} {errors}") from None
    title = await page.text_content("#item-title")
    decided = 0
    started = time.perf_counter()
    while title != "The queue is empty":
        await page.keyboard.press("a")
        await page.wait_for_function("t => document.getElementById('item-title').textContent !== t", arg=title, timeout=60_000)
        title = await page.text_content("#item-title")
        decided += 1
    seconds = time.perf_counter() - started
    timings = await page.evaluate("""() => performance.getEntriesByType('resource')
        .filter(e => e.responseStart > 0).map(e => [e.name, e.responseStart - e.requestStart])""")
    await page.close()
    return seconds, decided, _by_action(timings)


def _by_action(timings: list[tuple[str, float]]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {a: [] for a in ACTIONS}
    for url, ms in timings:
        for action, marker in ACTIONS.items():
            if marker in url:
                found[action].append(ms)
                break
    return found


async def api_run(stack: Stack, pid: str) -> tuple[float, int, dict[str, list[float]]]:
    found: dict[str, list[float]] = {a: [] for a in ACTIONS}
    decided = 0
    async with stack.client(stack.token(f"api-{pid}", "reviewer", productions=[pid])) as client:
        async def timed(action: str, call):
            t = time.perf_counter()
            response = await call
            found[action].append((time.perf_counter() - t) * 1000)
            return response

        started = time.perf_counter()
        while (claimed := await timed("claim", client.post("/reviews/claim", json={}))).status_code == 200:
            item = claimed.json()
            asset = item["asset"]
            await timed("content", client.get(f"/assets/{asset['asset_id']}/content", params={"version": asset["version"]}))
            (await timed("decision", client.post(f"/reviews/items/{item['item_id']}/decision", json={"outcome": "approved"}))).raise_for_status()
            decided += 1
        seconds = time.perf_counter() - started
    return seconds, decided, found


async def main_async(items: int) -> None:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = _settings(folder)
        async with gateway_stack(base, folder, review_overrides={"review_second_share": 0.0}) as stack:
            print(f"seeding three queues of {items} mixed items (every kind, C2PA-signed media)…")
            pids = [await queue_of(stack, items, label) for label in ("console", "noprefetch", "api")]
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
                console = await browser_run(browser, stack, pids[0], prefetch=True)
                plain = await browser_run(browser, stack, pids[1], prefetch=False)
                await browser.close()
            api = await api_run(stack, pids[2])
    rate = {name: run[1] / run[0] * 60 for name, run in (("console", console), ("no prefetch", plain), ("api", api))}
    for name, run in (("console", console), ("no prefetch", plain), ("api", api)):
        print(f"{name:>12}: {run[1]} decisions in {run[0]:.1f} s = {rate[name]:.0f} decisions/min")
    record("review_console.decisions_per_min", value=rate["console"], unit="decisions/min", baseline=rate["no prefetch"],
           description=f"keyboard-only reviewer in the console (headless Chromium), {items}-item mixed queue",
           baseline_label="the same console fetching each item when opened (no look-ahead)")
    record("review_console.decisions_per_min_vs_api", value=rate["console"], unit="decisions/min", baseline=rate["api"],
           description="the same, against a script on the REST API with no page (the ceiling)",
           baseline_label="httpx: claim, read the bytes, decide")
    for action in ("claim", "decision", "item view", "content"):
        got, ref = console[2][action], api[2][action]
        if not got:
            continue
        for q in (50, 99):
            value, baseline = percentile(got, q), percentile(ref, q) if ref else 0.0
            print(f"  server time {action:>9} p{q}: {value:.1f} ms (API script {baseline:.1f} ms)")
            record(f"review_console.server_ms.{action.replace(' ', '_')}.p{q}", value=value, unit="ms", baseline=baseline or value,
                   description=f"server time per console action: {action}, p{q} (Resource Timing, request to first byte)",
                   baseline_label="the same call from the API script" if ref else "(no API-script equivalent)",
                   higher_is_better=False)
    print(f"  (median item view {statistics.median(console[2]['item view']):.1f} ms over {len(console[2]['item view'])} fetches)")


def _settings(folder: Path) -> HelixSettings:
    import os
    import uuid

    if not os.environ.get("HELIX_KAFKA_BOOTSTRAP"):
        from helix_dev.infra import LocalInfra

        LocalInfra().up(("kafka", "minio"))
    values = load_settings().model_dump()
    values.update(topic_namespace=f"bench{uuid.uuid4().hex[:8]}", topic_partitions=1, s3_bucket=f"bench-{uuid.uuid4().hex[:8]}",
                  database_url=f"sqlite:///{folder / 'state.db'}")
    return HelixSettings(**values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()
    configure_logging("bench", level="WARNING", json=False)
    asyncio.run(main_async(args.items))


if __name__ == "__main__":
    main()
