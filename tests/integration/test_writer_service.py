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
AUTH = "writer-service-tests-" + "a" * 40


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helix_dev.models.tiny import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), seed=0)


@pytest_asyncio.fixture
async def writer(settings: HelixSettings, tiny_model: Path) -> AsyncIterator[WriterApp]:
    async with WriterApp(WriterSettings(**{**settings.model_dump(), "service_name": "writer", "auth_secret": AUTH}, writer_model=str(tiny_model),
                                   writer_grpc_address="127.0.0.1:0",
                                   writer_device="cpu", writer_dtype="float32")) as app:
        yield app


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
    values: dict[str, Any] = {"production_id": "lighthouse", "job_id": "job-1", "requested_by": Actor(subject="dana"),
                              "logline": "An old keeper must keep the light burning through one last storm.", "max_scenes": 3, "seed": 7}
    return ScriptRequested(**{**values, **fields})


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
    from datetime import UTC, datetime

    from helix.events import DialogueRewriteRequested, JobFailed, ReviewApproved, StoryboardRequested

    await writer.handle(new_event(_request(), source="/tests"))  # the script to work on (straight to the handler)
    script_id = "script-job-1"
    # Storyboards are drawn from the script a person approved: before that, the request is refused, saying why.
    early = new_event(StoryboardRequested(production_id="lighthouse", job_id="job-sb-early", requested_by=Actor(subject="dana"),
                                          script_asset_id=f"{script_id}-script"), source="/tests")
    produce_raw(settings, Topic.WRITER_REQUESTS, encode(early), key=b"lighthouse")
    jobs = await _events(settings, Topic.JOBS_STATUS, lambda es: any(e.data.job_id == "job-sb-early" and e.type.endswith("failed") for e in es))
    (refused,) = [e.data for e in jobs if isinstance(e.data, JobFailed) and e.data.job_id == "job-sb-early"]
    assert "is not approved" in refused.error and refused.retriable is False
    await writer.approvals.record(ReviewApproved(production_id="lighthouse", decision_id="dec-script", asset_id=f"{script_id}-script",
                                                 kind="script", reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC)))
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

    from helix.auth import mint_token
    from helix.v1 import writer_pb2, writer_pb2_grpc

    token = mint_token(writer.settings, "dana", ["director"], productions=["lighthouse"])
    async with grpc.aio.insecure_channel(writer.grpc_address) as channel:
        stub = writer_pb2_grpc.WriterServiceStub(channel)
        request = writer_pb2.RewriteLineRequest(production_id="lighthouse", line="Forty years, and the light never failed.",
                                                speaker="MARA", tone="warmer", candidates=2)
        chunks = [c async for c in stub.RewriteLine(request, metadata=[("authorization", f"Bearer {token}")])]
    finals = [c for c in chunks if c.done]
    assert sorted(c.candidate for c in finals) == [0, 1]
    for final in finals:
        pieces = "".join(c.text for c in chunks if c.candidate == final.candidate and not c.done)
        assert pieces == final.full_text


async def test_revision_request_regenerates_the_asset_with_the_reviewers_notes(settings: HelixSettings, writer: WriterApp) -> None:
    from datetime import UTC, datetime

    from helix.events import ReviewRevisionRequested

    await writer.handle(new_event(_request(), source="/tests"))
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


# --- episode scale, and a person's words ---------------------------------------------------


def _latest(store: AssetStore, kind: str, asset_id: str) -> dict:
    return json.loads(store.get(store.versions("lighthouse", kind, asset_id)[-1].key))


async def _job(settings: HelixSettings, writer: WriterApp, data: Any) -> None:
    """Send a request on Kafka and wait for its job to finish; fail on a failed job."""
    event = new_event(data, source="/tests/gateway")
    produce_raw(settings, Topic.WRITER_REQUESTS, encode(event), key=b"lighthouse")
    jobs = await _events(settings, Topic.JOBS_STATUS, lambda es: any(
        e.type in ("helix.job.completed", "helix.job.failed") and e.data.job_id == data.job_id for e in es))
    outcome = [e for e in jobs if e.data.job_id == data.job_id and e.type in ("helix.job.completed", "helix.job.failed")][-1]
    assert outcome.type == "helix.job.completed", outcome.data


@pytest.mark.slow  # over 30 s: `make test-slow` and CI run it
async def test_an_episode_of_forty_scenes(settings: HelixSettings, writer: WriterApp) -> None:
    await _job(settings, writer, _request(max_scenes=40, job_id="ep-1"))
    store = AssetStore(settings)
    script = _latest(store, "script", "script-ep-1-script")["content"]
    assert len(script["scenes"]) == 40 and all(scene["dialogue"] for scene in script["scenes"])
    assert 1 < len(script["acts"]) <= 5 and {s["act"] for s in script["scenes"]} == {a["number"] for a in script["acts"]}
    parsed = list(fountain.parse(io.StringIO(store.get(store.versions("lighthouse", "script", "script-ep-1-fountain")[-1].key).decode())))
    assert len([p for p in parsed if isinstance(p, Slug)]) == 40
    speakers = [line["speaker"].upper() for scene in script["scenes"] for line in scene["dialogue"]]
    cues = [str(p.character).lstrip("@") for p in parsed if isinstance(p, Dialog)]
    assert len(cues) == len(speakers)
    assets = {e.data.asset_id: e.data for e in await _events(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 46)
              if e.data.job_id == "ep-1"}
    for n in range(1, 41):
        dialogue = assets[f"script-ep-1-dialogue-s{n}"]
        assert set(dialogue.parent_asset_ids) == {"script-ep-1-scenes", "script-ep-1-characters", "script-ep-1-places"}
        assert dialogue.cost is not None and dialogue.cost.model_seconds > 0
    assert assets["script-ep-1-scenes"].parent_asset_ids == ["script-ep-1-title", "script-ep-1-characters"]


@pytest.mark.slow  # over 30 s: `make test-slow` and CI run it
async def test_a_persons_words_are_never_lost(settings: HelixSettings, writer: WriterApp) -> None:
    from helix.events import CandidateApplied, DialogueEdited, DialogueRewriteRequested, ScriptEditRequested

    dana = Actor(subject="dana")
    await _job(settings, writer, _request(max_scenes=3, job_id="w-1"))
    script_id = "script-w-1"
    store = AssetStore(settings)
    # A person writes scene 2's dialogue verbatim, with names in their own scripts.
    mine = [{"speaker": "ミナ", "text": "灯りを守って。"}, {"speaker": "Ольга", "text": "Я здесь."}, {"speaker": "José", "text": "¡Vamos!"}]
    await _job(settings, writer, DialogueEdited(production_id="lighthouse", job_id="w-2", requested_by=dana, script_id=script_id,
                                                scene_id="s2", lines=mine))
    # A person rewrites the characters: the levels below are regenerated, but not their scene.
    cast = [{"name": "ミナ", "description": "the keeper", "voice_notes": "quiet"}, {"name": "Ольга", "description": "her sister"},
            {"name": "José", "description": "the boatman"}]
    await _job(settings, writer, ScriptLevelRewritten(production_id="lighthouse", job_id="w-3", requested_by=dana, script_id=script_id,
                                                      level="characters", content=cast))
    # Then the scenes level is regenerated, with the levels below it.
    await _job(settings, writer, ScriptEditRequested(production_id="lighthouse", job_id="w-4", requested_by=dana, script_id=script_id,
                                                     operation="regenerate", level="scenes", cascade=True))
    script = _latest(store, "script", f"{script_id}-script")["content"]
    assert [(c["name"], c["author"]) for c in script["characters"]] == [("ミナ", "human"), ("Ольга", "human"), ("José", "human")]
    s2 = next(s for s in script["scenes"] if s["scene_id"] == "s2")
    assert [(line["speaker"], line["text"], line["author"]) for line in s2["dialogue"]] == [(x["speaker"], x["text"], "human") for x in mine]
    assert {"part": "dialogue-s2", "because": "a level above", "job_id": "w-4"} in script["stale"], script["stale"]
    assert len(store.versions("lighthouse", "script", f"{script_id}-scenes")) == 3, "scenes: first, after the cast, regenerated"
    others = [s for s in script["scenes"] if s["scene_id"] != "s2"]
    assert all(line["author"] == "ai" for s in others for line in s["dialogue"])
    fnt = store.get(store.versions("lighthouse", "script", f"{script_id}-fountain")[-1].key).decode()
    cues = [str(p.character) for p in fountain.parse(io.StringIO(fnt)) if isinstance(p, Dialog)]
    assert {"ミナ", "ОЛЬГА", "JOSÉ"} <= set(cues), "every cue survives, whatever its script (screenplain reads them)"

    # Undo: the scenes level goes back to the version before.
    before = json.loads(store.get(store.versions("lighthouse", "script", f"{script_id}-scenes")[-2].key))["content"]
    await _job(settings, writer, ScriptEditRequested(production_id="lighthouse", job_id="w-5", requested_by=dana, script_id=script_id,
                                                     operation="revert", level="scenes"))
    reverted = _latest(store, "script", f"{script_id}-scenes")
    assert reverted["content"] == before and reverted["reverted_from"] == 2

    # More lines in a scene; then a candidate a person picks becomes the scene's line.
    s1_before = len(next(s for s in _latest(store, "script", f"{script_id}-script")["content"]["scenes"] if s["scene_id"] == "s1")["dialogue"])
    await _job(settings, writer, ScriptEditRequested(production_id="lighthouse", job_id="w-6", requested_by=dana, script_id=script_id,
                                                     operation="continue", level="dialogue", scene_id="s1", count=3))
    s1 = _latest(store, "dialogue", f"{script_id}-dialogue-s1")["content"]
    assert len(s1) == min(30, s1_before + 3)
    await _job(settings, writer, DialogueRewriteRequested(production_id="lighthouse", job_id="w-7", requested_by=dana,
                                                          dialogue_asset_id=f"{script_id}-dialogue-s1", line_ids=[s1[0]["line_id"]], candidates=2))
    candidates = _latest(store, "dialogue", f"{script_id}-dialogue-s1-rewrite-w-7")["content"]["lines"][0]["candidates"]
    await _job(settings, writer, CandidateApplied(production_id="lighthouse", job_id="w-8", requested_by=dana,
                                                  rewrite_asset_id=f"{script_id}-dialogue-s1-rewrite-w-7", line_id=s1[0]["line_id"], candidate=1))
    chosen = _latest(store, "dialogue", f"{script_id}-dialogue-s1")["content"][0]
    assert (chosen["text"], chosen["author"], chosen["selected_by"]) == (candidates[1], "ai", "dana")


async def test_a_revision_on_the_assembled_script_is_answered(settings: HelixSettings, writer: WriterApp) -> None:
    from datetime import UTC, datetime

    from helix.events import ReviewRevisionRequested

    await _job(settings, writer, _request(max_scenes=2, job_id="r-1"))
    revision = new_event(ReviewRevisionRequested(
        production_id="lighthouse", decision_id="dec-9", asset_id="script-r-1-script", kind="script", reviewer=Actor(subject="rhea"),
        decided_at=datetime.now(UTC), notes="Sharper dialogue throughout."), source="/helix/review")
    produce_raw(settings, Topic.REVIEW_DECISIONS, encode(revision), key=b"lighthouse")
    await _events(settings, Topic.JOBS_STATUS, lambda es: any(e.type.endswith("completed") and e.data.job_id == "rev-dec-9" for e in es))
    store = AssetStore(settings)
    for scene in ("s1", "s2"):
        versions = store.versions("lighthouse", "dialogue", f"script-r-1-dialogue-{scene}")
        assert len(versions) == 2 and "Sharper dialogue throughout." in json.dumps(store.sidecar(versions[-1].key)["provenance"]["inputs"])
