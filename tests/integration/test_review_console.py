"""The review console in a real browser (Playwright driving the machine's own Chromium,
headless) in front of the real gateway, review service, Kafka and MinIO.

A reviewer signs in with a token and works a queue holding every asset kind with the
keyboard only: approves, rejects, requests a revision with a marked region; the decision
events are read back from the broker. A second reviewer looks again at sampled decisions.
A director's token gets no review actions. A screenshot of each view is kept under
.helix/test-artifacts/console/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from helix.events import Topic
from tests.conftest import make_settings
from tests.integration.console_seed import Seeded, seed_every_kind
from tests.integration.gateway_harness import Stack, create_production, gateway_stack, poll
from tests.integration.kafka_helpers import read_topic

pytestmark = pytest.mark.infra

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium") if p and Path(p).exists()), None)
ARTIFACTS = Path(os.environ.get("HELIX_TEST_ARTIFACTS", ".helix/test-artifacts")) / "console"
TITLE = re.compile(r"^(?P<kind>\w+): (?P<asset>\S+) \(version (?P<version>\d+)\)$")

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is in the dev dependencies (uv sync)")
if CHROMIUM is None:
    pytest.skip("no Chromium on this machine (deploy/local/setup.sh installs Debian's chromium)", allow_module_level=True)


@dataclass
class World:
    stack: Stack
    seeded: Seeded
    browser: Any


@pytest_asyncio.fixture(scope="module")
async def world(infra_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp("console")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Every decision is sampled for a second review here, so the second reviewer has work.
    async with gateway_stack(make_settings(infra_env, folder), folder, review_overrides={"review_second_share": 1.0}) as stack:
        production = await create_production(stack)
        pid = production["production_id"]
        seeded = await seed_every_kind(stack.settings, pid, requested_by="dora", misheard=True)
        async with stack.client(stack.token("root", "admin")) as admin:
            await poll(admin, "/reviews/queue?limit=100", lambda r: len(r.json()["items"]) == seeded.items, what="the seeded queue")
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
            try:
                yield World(stack, seeded, browser)
            finally:
                await browser.close()


async def signed_in(world: World, token: str) -> Any:
    page = await world.browser.new_page(viewport={"width": 1400, "height": 900})
    page.errors = []  # script errors, reported by the assertions that fail because of them
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.requests = []  # (time, method, url) from the first load on, look-ahead fetches included
    page.on("request", lambda r: page.requests.append((time.monotonic(), r.method, r.url)))
    await page.goto(f"{world.stack.url}/console")
    await page.keyboard.type(token)  # the token field has the focus on arrival
    await page.keyboard.press("Enter")
    await page.wait_for_selector("body[data-ready=true]")
    return page


async def title_after(page: Any, previous: str, timeout: float = 20_000) -> str:
    await page.wait_for_function(
        "previous => { const t = document.getElementById('item-title').textContent; return t !== previous && t !== 'Nothing claimed'; }",
        arg=previous, timeout=timeout)
    return await page.text_content("#item-title")


async def test_director_gets_no_review_actions(world: World) -> None:
    pid = world.seeded.production_id
    director = world.stack.token("dora", "director", productions=[pid])
    page = await signed_in(world, director)
    try:
        assert await page.locator("#approve").count() == 0, "the decision buttons are not even on the page"
        assert await page.locator("#nav [data-view=queue]").is_hidden()
        await page.wait_for_selector("#view-dashboard:not([hidden])")
        await page.screenshot(path=str(ARTIFACTS / "director.png"), full_page=True)
        await page.keyboard.press("q")  # the queue key does nothing for a director
        assert await page.locator("#view-queue").is_hidden()
        async with world.stack.client(stack_token := director) as client:
            queue = (await world.stack.client(world.stack.token("root", "admin")).get("/reviews/queue")).json()["items"]
            item_id = queue[0]["item_id"]
            assert (await client.get(f"/console/items/{item_id}")).status_code == 403
            decided = await client.post(f"/reviews/items/{item_id}/decision", json={"outcome": "approved"})
            assert decided.status_code == 403 and stack_token
    finally:
        await page.close()


async def test_reviewer_works_every_kind_with_the_keyboard(world: World) -> None:
    pid = world.seeded.production_id
    reviewer = world.stack.token("rhea", "reviewer", productions=[pid])
    page = await signed_in(world, reviewer)
    requests: list[tuple[float, str, str]] = page.requests
    seen: dict[str, int] = {}
    decided: list[tuple[str, str]] = []
    revision_asked = rejected = diffed = wiped = False
    title = await title_after(page, "")
    try:
        for _ in range(world.seeded.items + 2):
            if title == "The queue is empty":
                break
            match = TITLE.match(title)
            assert match, title
            kind, version = match["kind"], int(match["version"])
            seen[kind] = seen.get(kind, 0) + 1
            await page.wait_for_selector("#content > *")
            if seen[kind] == 1 or version > 1:
                await page.screenshot(path=str(ARTIFACTS / f"{kind}-v{version}.png"), full_page=True)
            if kind == "script" and version > 1 and not diffed:
                await page.keyboard.press("d")
                await page.wait_for_selector("pre.diff")
                assert "+TITLE: The Last Light of Carrow Point" in await page.text_content("pre.diff")
                await page.screenshot(path=str(ARTIFACTS / "script-diff.png"), full_page=True)
                diffed = True
            if kind == "frame" and version > 1 and not revision_asked:
                for key in ("[", "[", "]"):  # the wipe between this revision and the version it replaces
                    await page.keyboard.press(key)
                assert await page.locator(".wipe").count() == 1
                await page.screenshot(path=str(ARTIFACTS / "frame-wipe.png"), full_page=True)
                wiped = True
                await page.keyboard.press("v")
                await page.keyboard.type("Warmer light on the lamp, please.")
                await page.keyboard.press("Alt+m")  # a region on the image: move it, resize it, name it, keep it
                await page.keyboard.press("ArrowRight")
                await page.keyboard.press("Shift+ArrowDown")
                await page.keyboard.press("Shift+Tab")
                await page.keyboard.type("this lamp")
                await page.keyboard.press("Tab")
                await page.keyboard.press("Enter")
                assert await page.locator("#region-list li").count() == 1
                await page.screenshot(path=str(ARTIFACTS / "frame-region.png"), full_page=True)
                await page.keyboard.press("Control+Enter")
                decided.append((match["asset"], "revision_requested"))
                revision_asked = True
            elif kind == "voiceover":
                # The listening QC's flagged line, beside its text, plays on its own; its blocking
                # finding keeps the track from approval, so the reviewer sends it back.
                heard = page.locator("table.listening tbody tr")
                assert await heard.count() == 1
                assert "Nicht heute Nachtlicht." in await heard.inner_text() and "0.2–0.8 s" in await heard.inner_text()
                await heard.locator("button").click()
                await page.wait_for_function("document.querySelector('#content audio').currentTime >= 0.2")
                await page.screenshot(path=str(ARTIFACTS / "voiceover-listening.png"), full_page=True)
                await page.keyboard.press("r")
                await page.keyboard.type("Line s1-l2 is heard as another word: record it again.")
                await page.keyboard.press("Control+Enter")
                decided.append((match["asset"], "rejected"))
            elif kind == "scene" and not rejected:
                await page.keyboard.press("r")
                await page.keyboard.type("The cliff is off model.")
                await page.keyboard.press("Control+Enter")
                decided.append((match["asset"], "rejected"))
                rejected = True
            else:
                await page.keyboard.press("a")
                decided.append((match["asset"], "approved"))
            title = await title_after(page, title)
        assert title == "The queue is empty", f"stopped at {title}"
        assert set(seen) == {"script", "dialogue", "storyboard", "frame", "scene", "texture", "subtitles", "voiceover"}
        assert diffed and wiped and revision_asked and rejected
        assert len(decided) == world.seeded.items
        # The next items were fetched before the reviewer got to them: some console item was
        # requested before the decision that opened it.
        item_fetches = [(t, u) for t, m, u in requests if m == "GET" and "/console/items/" in u]
        decisions = [t for t, m, u in requests if m == "POST" and u.endswith("/decision")]
        prefetched = sum(1 for t, _u in item_fetches if any(t < d for d in decisions))
        assert prefetched >= len(decided) - 1, f"{prefetched} of {len(item_fetches)} item views fetched ahead"

        await page.keyboard.press("g")
        await page.wait_for_selector("#staffing")
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        await page.keyboard.press("c")
        await page.wait_for_selector("#consent-table")
        await page.screenshot(path=str(ARTIFACTS / "consents.png"), full_page=True)
    finally:
        await page.close()

    events = [json.loads(m.value()) for m in read_topic(world.stack.settings, Topic.REVIEW_DECISIONS, count=len(decided), timeout=30)]
    by_asset = {(e["data"]["asset_id"], e["type"].rsplit(".", 1)[-1]) for e in events if e["data"]["production_id"] == pid}
    assert set(decided) <= by_asset, set(decided) - by_asset
    revision = next(e for e in events if e["type"] == "helix.review.revision_requested")
    region = revision["data"]["regions"][0]
    assert region["note"] == "this lamp" and region["x"] == pytest.approx(0.4) and region["height"] == pytest.approx(0.35)
    assert all(e["data"]["review_seconds"] is not None for e in events)


async def test_second_reviewer_records_agreement(world: World) -> None:
    pid = world.seeded.production_id
    page = await signed_in(world, world.stack.token("sam", "reviewer", productions=[pid]))
    try:
        await page.keyboard.press("s")
        try:
            await page.wait_for_selector("#second-content > *", timeout=15_000)
        except Exception:
            raise AssertionError(f"no second review shown: {await page.text_content('#status')} {page.errors}") from None
        await page.screenshot(path=str(ARTIFACTS / "second-review.png"), full_page=True)
        await page.keyboard.press("a")
        await page.wait_for_function("document.getElementById('status').textContent.startsWith('Second review')")
        status = await page.text_content("#status")
        assert "agree" in status
    finally:
        await page.close()
    async with world.stack.client(world.stack.token("sam", "reviewer", productions=[pid])) as client:
        board = (await client.get("/reviews/dashboard")).json()
    assert board["second_reviews_done"] == 1
    assert board["second_reviews_pending"] == world.seeded.items - 1
    assert board["agreement"] in (0.0, 1.0)
    rhea = {r["reviewer"]: r for r in board["reviewers"]}["rhea"]
    assert rhea["decisions"] == world.seeded.items


async def test_the_cast_view_shows_each_member_its_kept_view_and_voices(world: World) -> None:
    from helix.assets import AssetStore
    from helix.bus import HelixBus
    from helix.events import Actor, AssetKind, ReferenceSheetRequested, ReferenceSummary, new_event
    from helix.generation import GeneratedAsset, GeneratorKit, Job
    from tests.integration.console_seed import PAINTER, png

    pid = world.seeded.production_id
    request = ReferenceSheetRequested(production_id=pid, job_id="job-sheet-console", requested_by=Actor(subject="dora"),
                                      script_asset_id="script-x-script", seed=7)
    views = [("reference-job-sheet-console-c1-front", "MARA", "front", 1), ("reference-job-sheet-console-c1-profile", "MARA", "profile", 2),
             ("reference-job-sheet-console-c2-front", "TOM", "front", 3)]
    async with HelixBus(world.stack.settings, source="/helix/visual") as bus:
        job: Job[ReferenceSheetRequested] = Job(GeneratorKit(service="visual", store=AssetStore(world.stack.settings), bus=bus,
                                                             settings=world.stack.settings), new_event(request, source="/helix/visual"))
        for asset_id, subject, view, seed in views:
            await job.store(GeneratedAsset(kind=AssetKind.REFERENCE, asset_id=asset_id, data=png(64, 96, seed), media_type="image/png", ext="png",
                                           model=PAINTER, seed=seed, inputs={"prompt": f"{subject}, {view} view"},
                                           summary=ReferenceSummary(subject=subject, subject_kind="character", view=view)))  # type: ignore[arg-type]
    async with world.stack.client(world.stack.token("root", "admin")) as admin:
        casting = {"entries": [{"character": "MARA", "voice": {"kind": "performer", "performer": "Ann Lee", "model": "voices/ann-lee"}}]}
        assert (await admin.put(f"/productions/{pid}/casting", json=casting)).status_code == 200
        queue = await poll(admin, "/reviews/queue?limit=100", lambda r: views[0][0] in {i["asset"]["asset_id"] for i in r.json()["items"]},
                           what="the reference views in the queue")
        item_id = next(i["item_id"] for i in queue.json()["items"] if i["asset"]["asset_id"] == views[0][0])
        assert (await admin.post("/reviews/claim", json={"item_id": item_id, "lease_seconds": 60})).status_code == 200
        decided = await admin.post(f"/reviews/items/{item_id}/decision", json={"outcome": "approved"})
        assert decided.status_code == 200, decided.text
        await poll(admin, f"/productions/{pid}/cast", lambda r: any(m["keeps"] for m in r.json()["members"]), what="MARA's kept view")
    async def entries() -> list[tuple[str, str]]:
        async with world.stack.client(world.stack.token("root", "admin")) as admin:
            return [(e["character"], e["locale"]) for e in (await admin.get(f"/productions/{pid}/casting")).json()["entries"]]

    page = await signed_in(world, world.stack.token("dora", "director", productions=[pid]))
    try:
        await page.keyboard.press("k")
        await page.wait_for_selector("#cast-body article.cast-member >> nth=1")
        mara, tom = page.locator("article.cast-member").nth(0), page.locator("article.cast-member").nth(1)
        await mara.locator("figure img").wait_for()
        assert f"kept: {views[0][0]} v1" in await mara.inner_text()
        assert "Ann Lee's voice" in await mara.inner_text() and "profile: " in await mara.inner_text()
        assert "No approved view frames keep yet" in await tom.inner_text()
        assert "Ann Lee" in await page.text_content("#cast-warning")
        assert await mara.locator("figure img").evaluate("img => img.naturalWidth") == 64, "the kept view itself, fetched with the token"
        # The director casts TOM's German voice: a speaker of the locale's model, kept beside MARA's entry.
        await page.fill("#v-character", "TOM")
        await page.fill("#v-locale", "de")
        await page.fill("#v-speaker", "3")
        await page.click("#casting-form button[type=submit]")
        await page.wait_for_function("document.getElementById('casting-result').textContent.startsWith('Saved')")
        assert await page.text_content("#casting-result") == "Saved. No dub is stale."
        await page.wait_for_function("document.querySelector('#cast-body').innerText.includes('de: model voice of the locale, speaker 3')")
        await page.screenshot(path=str(ARTIFACTS / "cast.png"), full_page=True)
        assert page.errors == []
    finally:
        await page.close()
    assert await entries() == [("MARA", "*"), ("TOM", "de")], "the console's change kept MARA's entry"
