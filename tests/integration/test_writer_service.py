"""The writer on the real broker and store, with the tiny Llama loaded like a real model:
a script request becomes every level as its own asset, with lineage and job progress,
and a Fountain file that a parser Helix did not write reads back as the same script."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from screenplain.parsers import fountain
from screenplain.types import Dialog, Slug

from helix.assets import AssetStore
from helix.events import Actor, ScriptLevelRewritten, ScriptRequested, Topic, decode, encode, new_event
from helix.settings import HelixSettings
from helix_writer.app import WriterApp
from helix_writer.settings import WriterSettings
from tests.integration.kafka_helpers import produce_raw, read_topic_async

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helix.models.tiny import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), seed=0)


@pytest_asyncio.fixture
async def writer(settings: HelixSettings, tiny_model: Path) -> AsyncIterator[WriterApp]:
    app = WriterApp(WriterSettings(**{**settings.model_dump(), "service_name": "writer"}, writer_model=str(tiny_model),
                                   writer_grpc_address="127.0.0.1:0",
                                   writer_device="cpu", writer_dtype="float32"))
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def _events(settings: HelixSettings, topic: Topic, done: Any, timeout: float = 180) -> list[Any]:
    """All events of a topic, read until `done(events)` holds."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        records = await read_topic_async(settings, topic, count=10_000, timeout=2)
        events = [decode(r.value()) for r in records]
        if done(events) or asyncio.get_running_loop().time() > deadline:
            return events


def _request(**fields: Any) -> ScriptRequested:
    return ScriptRequested(production_id="lighthouse", job_id="job-1", requested_by=Actor(subject="dana"),
                           logline="An old keeper must keep the light burning through one last storm.", max_scenes=3, seed=7, **fields)


async def test_script_request_to_levels_fountain_and_a_human_rewrite(settings: HelixSettings, writer: WriterApp) -> None:
    request = new_event(_request(), source="/tests/gateway")
    produce_raw(settings, Topic.WRITER_REQUESTS, encode(request), key=b"lighthouse")

    jobs = await _events(settings, Topic.JOBS_STATUS, lambda es: any(e.type.endswith("completed") for e in es))
    kinds = [e.type for e in jobs]
    assert kinds[0] == "helix.job.accepted" and kinds[-1] == "helix.job.completed", kinds
    progress = [e.data for e in jobs if e.type == "helix.job.progress"]
    assert [p.step for p in progress] == ["title written", "characters written", "scenes written", "places written", "dialogue written"]
    assert [p.fraction for p in progress] == sorted(p.fraction for p in progress)

    assets = {e.data.asset_id: e.data for e in await _events(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 7)}
    script_id = "script-job-1"
    levels = {a.removeprefix(f"{script_id}-") for a in assets}
    assert {"title", "characters", "scenes", "places", "script", "fountain"} <= levels
    dialogue_levels = {lv for lv in levels if lv.startswith("dialogue-")}
    assert dialogue_levels, "dialogue per scene"
    for asset in assets.values():
        assert asset.model is not None and asset.model.revision and asset.requested_by.subject == "dana"
        assert asset.job_id == "job-1" and asset.authorship.value == "ai"
    assert assets[f"{script_id}-characters"].parent_asset_ids == [f"{script_id}-title"]
    assert set(assets[f"{script_id}-fountain"].parent_asset_ids) == {f"{script_id}-script"}

    store = AssetStore(settings)
    script = json.loads(store.get(assets[f"{script_id}-script"].object_key))["content"]
    parsed = list(fountain.parse(io.StringIO(store.get(assets[f"{script_id}-fountain"].object_key).decode())))
    assert len([p for p in parsed if isinstance(p, Slug)]) == len(script["scenes"]) == len(dialogue_levels)
    speakers = [line["speaker"] for scene in script["scenes"] for line in scene["dialogue"]]
    assert len([p for p in parsed if isinstance(p, Dialog)]) == len(speakers)

    # A person rewrites the scene outline: kept verbatim, attributed, dialogue regenerated below it.
    scenes = [{"scene_id": "s1", "place": "Lamp room", "plot_element": "climax", "beat": "Mara relights the lamp by hand."}]
    rewrite = new_event(ScriptLevelRewritten(production_id="lighthouse", job_id="job-2", requested_by=Actor(subject="dana"),
                                             script_id=script_id, level="scenes", content=scenes), source="/tests/gateway")
    produce_raw(settings, Topic.WRITER_REQUESTS, encode(rewrite), key=b"lighthouse")
    await _events(settings, Topic.JOBS_STATUS, lambda es: any(e.type.endswith("completed") and e.data.job_id == "job-2" for e in es))
    versions = store.versions("lighthouse", "script", f"{script_id}-scenes")
    assert len(versions) == 2
    human = json.loads(store.get(versions[-1].key))
    assert human["content"][0]["beat"] == "Mara relights the lamp by hand." and human["content"][0]["author"] == "human"
    sidecar = store.sidecar(versions[-1].key)
    assert sidecar["provenance"]["authorship"] == "human" and "+" in sidecar["provenance"]["diff_from_previous"]
    latest = json.loads(store.get(store.versions("lighthouse", "script", f"{script_id}-script")[-1].key))["content"]
    assert [s["beat"] for s in latest["scenes"]] == ["Mara relights the lamp by hand."]
    assert latest["scenes"][0]["dialogue"], "dialogue regenerated for the rewritten outline"
    after = {e.data.asset_id: e.data for e in await _events(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 12)
             if e.data.job_id == "job-2"}
    assert after[f"{script_id}-scenes"].authorship.value == "human" and after[f"{script_id}-scenes"].model is None
    assert after[f"{script_id}-script"].authorship.value == "mixed"


async def test_storyboard_and_dialogue_candidates(settings: HelixSettings, writer: WriterApp) -> None:
    from helix.events import DialogueRewriteRequested, StoryboardRequested

    await writer.requests.handle([new_event(_request(), source="/tests")])  # the script to work on (straight to the handler)
    script_id = "script-job-1"
    board = new_event(StoryboardRequested(production_id="lighthouse", job_id="job-sb", requested_by=Actor(subject="dana"),
                                          script_asset_id=f"{script_id}-script", scene_ids=["s1"]), source="/tests")
    lines = new_event(DialogueRewriteRequested(production_id="lighthouse", job_id="job-dr", requested_by=Actor(subject="dana"),
                                               dialogue_asset_id=f"{script_id}-dialogue-s1", tone="warmer", target_syllables=8,
                                               candidates=3), source="/tests")
    for event in (board, lines):
        produce_raw(settings, Topic.WRITER_REQUESTS, encode(event), key=b"lighthouse")
    done = {"job-sb", "job-dr"}
    await _events(settings, Topic.JOBS_STATUS, lambda es: done <= {e.data.job_id for e in es if e.type.endswith("completed")})

    store = AssetStore(settings)
    (sb,) = store.versions("lighthouse", "storyboard", f"{script_id}-storyboard-s1")
    shots = json.loads(store.get(sb.key))["content"]["shots"]
    assert 1 <= len(shots) <= 6 and all(s["shot_id"].startswith("s1-shot") and 1 <= s["duration_s"] <= 20 for s in shots)
    assert {s["shot_type"] for s in shots} <= {"wide", "medium", "close_up", "extreme_close_up", "over_the_shoulder", "insert"}
    sidecar = store.sidecar(sb.key)
    assert sidecar["provenance"]["parents"] == [f"{script_id}-script", f"{script_id}-dialogue-s1"]
    (dr,) = store.versions("lighthouse", "dialogue", f"{script_id}-dialogue-s1-rewrite-job-dr")
    rewrite = json.loads(store.get(dr.key))["content"]
    assert rewrite["goal"] == {"tone": "warmer", "target_syllables": 8}
    assert rewrite["lines"] and all(len(line["candidates"]) == 3 for line in rewrite["lines"])


async def test_the_service_streams_a_line_rewrite_over_grpc(writer: WriterApp) -> None:
    import grpc

    from helix.v1 import common_pb2, writer_pb2, writer_pb2_grpc

    async with grpc.aio.insecure_channel(writer.grpc_address) as channel:
        stub = writer_pb2_grpc.WriterServiceStub(channel)
        request = writer_pb2.RewriteLineRequest(production_id="lighthouse", line="Forty years, and the light never failed.",
                                                speaker="MARA", tone="warmer", candidates=2,
                                                requested_by=common_pb2.Actor(subject="dana"))
        chunks = [c async for c in stub.RewriteLine(request)]
    finals = [c for c in chunks if c.done]
    assert sorted(c.candidate for c in finals) == [0, 1]
    for final in finals:
        pieces = "".join(c.text for c in chunks if c.candidate == final.candidate and not c.done)
        assert pieces == final.full_text


async def test_revision_request_regenerates_the_asset_with_the_reviewers_notes(settings: HelixSettings, writer: WriterApp) -> None:
    from datetime import UTC, datetime

    from helix.events import ReviewRevisionRequested

    await writer.requests.handle([new_event(_request(), source="/tests")])
    script_id = "script-job-1"
    store = AssetStore(settings)
    assert len(store.versions("lighthouse", "dialogue", f"{script_id}-dialogue-s1")) == 1
    revision = new_event(ReviewRevisionRequested(
        production_id="lighthouse", decision_id="dec-1", asset_id=f"{script_id}-dialogue-s1", kind="dialogue",
        reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC), notes="Shorter lines, more fear."), source="/helix/review")
    produce_raw(settings, Topic.REVIEW_DECISIONS, encode(revision), key=b"lighthouse")
    await _events(settings, Topic.JOBS_STATUS, lambda es: any(e.type.endswith("completed") and e.data.job_id == "rev-dec-1" for e in es))
    versions = store.versions("lighthouse", "dialogue", f"{script_id}-dialogue-s1")
    assert len(versions) == 2, "a new version of the same asset"
    prompt = json.dumps(store.sidecar(versions[-1].key)["provenance"]["inputs"])
    assert "Shorter lines, more fear." in prompt
    assert len(store.versions("lighthouse", "script", f"{script_id}-script")) == 2, "the script is reassembled around it"
    scenes = json.loads(store.get(store.versions("lighthouse", "script", f"{script_id}-script")[-1].key))["content"]["scenes"]
    for scene in scenes[1:]:
        assert len(store.versions("lighthouse", "dialogue", f"{script_id}-dialogue-{scene['scene_id']}")) == 1, "other scenes untouched"
