"""The localize service on the real broker and store, with the tiny Marian and VITS loaded like
real checkpoints: an approved script and three locales (one Japanese) become, per locale, a
translation, SRT/WebVTT/TTML with a QC report and a dubbed track with a timing report, each
an asset event with lineage, judged by tools Helix did not write."""

from __future__ import annotations

import asyncio
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyloudnorm
import pysrt
import pytest
import pytest_asyncio
import soundfile
import webvtt

from helix.assets import AssetStore
from helix.events import Actor, LocalizeRequested, ReviewApproved, Topic, decode, encode, new_event
from helix.settings import HelixSettings
from helix.story import Character, DialogueLine, Place, SceneScript, Script
from helix_localize.app import LocalizeApp
from helix_localize.settings import LocalizeSettings
from tests.integration.kafka_helpers import produce_raw, read_topic_async

pytestmark = pytest.mark.infra
DATA = Path(__file__).resolve().parents[2] / "services" / "localize" / "tests" / "data" / "earnest"
DANA = Actor(subject="dana", roles=["director"])
LOCALES = ["de-DE", "es-ES", "ja-JP"]
FPS = 24000 / 1001


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from helix_dev.models.tiny_localize import build_tiny_marian, build_tiny_vits

    return {"marian": str(build_tiny_marian(tmp_path_factory.mktemp("marian"))),
            "vits": str(build_tiny_vits(tmp_path_factory.mktemp("vits")))}


def localize_settings(settings: HelixSettings, models: dict[str, str], **overrides: Any) -> LocalizeSettings:
    return LocalizeSettings(**{**settings.model_dump(), "service_name": "localize", "localize_grpc_address": "127.0.0.1:0",
                               "localize_device": "cpu", "localize_dtype": "float32",
                               "localize_translation_models": {"*": models["marian"]}, "localize_voices": {"*": models["vits"]},
                               "localize_shorten_with_writer": False, **overrides})


@pytest_asyncio.fixture
async def localize(settings: HelixSettings, models: dict[str, str]) -> AsyncIterator[LocalizeApp]:
    async with LocalizeApp(localize_settings(settings, models)) as app:
        yield app


def earnest_script(settings: HelixSettings, script_id: str = "script-earn") -> str:
    """The Earnest dialogue as the writer stores an assembled script; its asset id."""
    lines = json.loads((DATA / "lines.json").read_text(encoding="utf-8"))
    script = Script(production_id="earnest", logline="Two friends lead double lives.", title="Earnest",
                    characters=[Character(name=n, description="a gentleman") for n in ("ALGERNON", "LANE", "JACK", "Lady Bracknell")],
                    places=[Place(name="Half Moon Street", description="Algernon's flat")],
                    scenes=[SceneScript(scene_id="s1", place="Half Moon Street", plot_element="exposition", beat="Tea is prepared.",
                                        dialogue=[DialogueLine(line_id=x["line_id"], speaker=x["speaker"], text=x["en"]) for x in lines])])
    store = AssetStore(settings)
    store.ensure_bucket()
    body = {"level": "script", "script_id": script_id, "content": script.model_dump(mode="json")}
    store.put(production_id="earnest", kind="script", asset_id=f"{script_id}-script", data=json.dumps(body).encode(),
              media_type="application/json", ext="json")
    return f"{script_id}-script"


def send(settings: HelixSettings, data: Any) -> None:
    produce_raw(settings, data.topic, encode(new_event(data, source="/tests")), key=data.production_id.encode())


async def approve(settings: HelixSettings, app: LocalizeApp, asset_id: str) -> None:
    send(settings, ReviewApproved(production_id="earnest", decision_id=f"ok-{asset_id}", asset_id=asset_id, kind="script",
                                  asset_version=1, reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC)))
    for _ in range(200):
        if await app.approvals.approved_version("earnest", asset_id) == 1:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the approval never reached the localize service")


async def finished(settings: HelixSettings, *job_ids: str, timeout: float = 240) -> list[Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        events = [decode(r.value()) for r in await read_topic_async(settings, Topic.JOBS_STATUS, count=100_000, timeout=1.5)]
        done = {e.data.job_id for e in events if e.type in ("helix.job.completed", "helix.job.failed")}
        if set(job_ids) <= done or loop.time() > deadline:
            return events


def latest(store: AssetStore, kind: str, asset_id: str) -> bytes:
    return store.get(store.versions("earnest", kind, asset_id)[-1].key)


@pytest.mark.slow  # over 30 s: `make test-slow` and CI run it
async def test_three_locales_from_a_studio_timeline(settings: HelixSettings, localize: LocalizeApp) -> None:
    script = earnest_script(settings)
    store = AssetStore(settings)
    store.put(production_id="earnest", kind="subtitles", asset_id="edit-dialogue", data=(DATA / "dialogue.en.srt").read_bytes(),
              media_type="application/x-subrip", ext="srt")
    await approve(settings, localize, script)
    send(settings, LocalizeRequested(production_id="earnest", job_id="loc-1", requested_by=DANA, source_asset_id=script,
                                     target_locales=LOCALES, deliverables=["translation", "subtitles", "voiceover"],
                                     formats=["srt", "vtt", "ttml"], timed_source_asset_id="edit-dialogue", glossary=["cucumber sandwiches"]))
    jobs = [e for e in await finished(settings, "loc-1") if e.data.job_id == "loc-1"]
    assert jobs[-1].type == "helix.job.completed", jobs[-1].data
    steps = [e.data.step for e in jobs if e.type == "helix.job.progress"]
    assert any(s.startswith("timeline from the studio source") for s in steps)
    assert {f"{loc}: voice-over" for loc in LOCALES} <= set(steps)

    events = {e.data.asset_id: e.data for e in (decode(r.value()) for r in await read_topic_async(settings, Topic.ASSETS_GENERATED, count=1000, timeout=3))}
    timing_source = pysrt.open(str(DATA / "dialogue.en.srt"))
    for locale in LOCALES:
        ids = {part: f"loc-{locale}-{part}-loc-1" for part in ("translation", "subtitles-srt", "subtitles-vtt", "subtitles-ttml",
                                                                  "subtitles-qc", "voiceover-wav", "voiceover-flac", "voiceover-timing")}
        assert set(ids.values()) <= set(events), locale
        translation = json.loads(latest(store, "script", ids["translation"]))
        assert translation["timeline"]["source"] == "studio" and len(translation["lines"]) == 12
        assert [(locale, line["target"], line["missing"]) for line in translation["lines"] if line["missing"]] == [], \
            "locked terms survive in every line"
        locked = {t for line in translation["lines"] for t in line["locked"]}
        assert {"Lane", "Lady Bracknell", "cucumber sandwiches"} <= locked, "names as the lines write them"
        assert events[ids["translation"]].parent_asset_ids == [script, "edit-dialogue"]
        for part in ("subtitles-srt", "subtitles-vtt", "subtitles-ttml", "voiceover-wav"):
            assert ids["translation"] in events[ids[part]].parent_asset_ids and events[ids[part]].model is not None

        srt = pysrt.from_string(latest(store, "subtitles", ids["subtitles-srt"]).decode())
        vtt = list(webvtt.from_buffer(io.StringIO(latest(store, "subtitles", ids["subtitles-vtt"]).decode())))
        qc = json.loads(latest(store, "subtitles", ids["subtitles-qc"]))
        assert len(srt) == len(vtt) == qc["events"] > 0
        assert events[ids["subtitles-srt"]].typed_summary().qc.passed == qc["passed"], "the QC verdict travels with the file"
        _check_ttml(latest(store, "subtitles", ids["subtitles-ttml"]), qc["events"])

        report = json.loads(latest(store, "voiceover", ids["voiceover-timing"]))
        slots = {f"s1-l{n}": (c.start.ordinal / 1000, c.end.ordinal / 1000) for n, c in enumerate(timing_source, start=1)}
        rows = sorted(report["lines"], key=lambda r: r["start"])
        for row, nxt in zip(rows, [*rows[1:], None], strict=True):
            assert abs(row["start"] - slots[row["line_id"]][0]) <= 3 / FPS, "every dubbed line starts within 3 frames of its slot"
            assert row["rate"] * row["stretch"] <= report["rate_cap"] + 1e-6
            if nxt is not None:
                assert row["end"] <= nxt["start"], "never into the next line"
            assert row["overshoot_ms"] == 0 or row["method"].endswith("overshoot")
        flac, rate = soundfile.read(io.BytesIO(latest(store, "voiceover", ids["voiceover-flac"])))
        assert rate == 48_000 and abs(pyloudnorm.Meter(rate).integrated_loudness(flac) - (-23.0)) <= 1.0


def _check_ttml(data: bytes, events: int) -> None:
    import imschrm.doc_sequence
    import imschrm.hrm
    from ttconv.imsc import reader as imsc_reader
    from ttconv.vtt import writer as vtt_writer

    errors: list[str] = []

    class Collect(imschrm.hrm.EventHandler):
        def error(self, msg, doc_index, time_offset, available_time, stats):  # noqa: ANN001, ANN201
            errors.append(msg)

    imschrm.hrm.validate(imschrm.doc_sequence.iter_isd([(0, None, data.decode())]), Collect())
    assert errors == []
    doc = imsc_reader.to_model(ET.ElementTree(ET.fromstring(data)))
    assert vtt_writer.from_model(doc).count(" --> ") == events, "ttconv converts it with every event kept"


@pytest.mark.slow  # over 30 s: `make test-slow` and CI run it
async def test_no_timed_source_then_helix_voice_is_the_timeline_and_the_writer_shortens(settings: HelixSettings,
                                                                                         models: dict[str, str], tmp_path: Path) -> None:
    from helix_dev.models.tiny import build_tiny_llama
    from helix_writer.app import WriterApp
    from helix_writer.settings import WriterSettings

    secret = "localize-writer-tests-" + "s" * 40  # the writer verifies the token localize mints for the production
    writer = WriterApp(WriterSettings(**{**settings.model_dump(), "service_name": "writer", "writer_grpc_address": "127.0.0.1:0",
                                         "writer_model": str(build_tiny_llama(tmp_path / "llama")), "writer_device": "cpu",
                                         "database_url": f"sqlite:///{tmp_path / 'writer.db'}", "auth_secret": secret}))
    await writer.start()
    app = LocalizeApp(localize_settings(settings, models, localize_shorten_with_writer=True, localize_shorten_timeout_s=90,
                                        localize_writer_address=writer.grpc_address, auth_secret=secret))
    await app.start()
    try:
        script = earnest_script(settings)
        await approve(settings, app, script)
        send(settings, LocalizeRequested(production_id="earnest", job_id="loc-2", requested_by=DANA, source_asset_id=script,
                                         target_locales=["ja-JP"], deliverables=["voiceover"]))
        jobs = [e for e in await finished(settings, "loc-2", timeout=300) if e.data.job_id == "loc-2"]
    finally:
        await app.stop()
        await writer.stop()
    assert jobs[-1].type == "helix.job.completed", jobs[-1].data
    store = AssetStore(settings)
    timeline = json.loads(latest(store, "voiceover", "loc-en-timeline-loc-2"))
    assert timeline["timeline"]["source"] == "synthesized" and timeline["assets"][:2] == ["loc-en-voiceover-wav-loc-2", "loc-en-voiceover-flac-loc-2"]
    report = json.loads(latest(store, "voiceover", "loc-ja-JP-voiceover-timing-loc-2"))
    assert report["timeline"]["source"] == "synthesized"
    methods = {row["method"] for row in report["lines"]}
    assert methods & {"shortened", "shortened+overshoot"}, f"the writer's shorter lines were fitted again: {methods}"
    # The exchange is the writer's gRPC call: nothing on the bus, no separate assets to review. The
    # changed lines travel with the dub, each beside the line it replaces.
    on_bus = [e for e in (decode(r.value()) for r in await read_topic_async(settings, Topic.WRITER_REQUESTS, count=1000, timeout=2))
              if e.type == "helix.writer.dialogue.rewrite.requested"]
    assert on_bus == []
    shortened = {row["line_id"]: row["text"] for row in report["lines"] if row["method"].startswith("shortened")}
    assert {c["line_id"]: c["replacement"] for c in report["changes"]} == shortened
    assert all(c["original"] and c["original"] != c["replacement"] and c["by"]["id"] for c in report["changes"])
    dub = [e.data for e in (decode(r.value()) for r in await read_topic_async(settings, Topic.ASSETS_GENERATED, count=10_000, timeout=2))
           if e.data.asset_id == "loc-ja-JP-voiceover-wav-loc-2"]
    assert dub and {c.line_id for c in dub[-1].typed_summary().changes} == set(shortened), "review sees the changed lines with the dub"
    assert not [e for e in (decode(r.value()) for r in await read_topic_async(settings, Topic.ASSETS_GENERATED, count=10_000, timeout=2))
                if e.data.kind == "dialogue"], "no shorter line became an asset of its own"


async def test_bad_requests_fail_with_the_reason(settings: HelixSettings, models: dict[str, str], tmp_path: Path) -> None:
    app = LocalizeApp(localize_settings(settings, models, localize_voices={"de": models["vits"], "en": models["vits"]}))
    await app.start()
    try:
        script = earnest_script(settings)
        unapproved = earnest_script(settings, "script-draft")
        store = AssetStore(settings)
        store.put(production_id="earnest", kind="subtitles", asset_id="broken-timing", data=b"1\n00:00:01,000 --> \nno end\n",
                  media_type="application/x-subrip", ext="srt")
        await approve(settings, app, script)
        bad = {
            "pair": {"target_locales": ["sw-KE"]},
            "voice": {"target_locales": ["ja-JP"], "deliverables": ["voiceover"]},
            "approval": {"source_asset_id": unapproved},
            "kind": {"source_asset_id": "frame-j1-1"},
            "timing": {"timed_source_asset_id": "broken-timing"},
        }
        for name, fields in bad.items():
            send(settings, LocalizeRequested(**{"production_id": "earnest", "job_id": f"bad-{name}", "requested_by": DANA,
                                                "source_asset_id": script, "target_locales": ["de-DE"], **fields}))
        events = await finished(settings, *(f"bad-{n}" for n in bad))
    finally:
        await app.stop()
    errors = {e.data.job_id: e.data.error for e in events if e.type == "helix.job.failed"}
    assert "cannot translate into 'sw'" in errors["bad-pair"]
    assert "no voice for locale ja-JP" in errors["bad-voice"]
    assert "is not approved" in errors["bad-approval"]
    assert "is not an assembled script" in errors["bad-kind"]
    assert "does not parse as SRT" in errors["bad-timing"] or "holds no timed text" in errors["bad-timing"]
