"""Voice casting on the real broker, store and PostgreSQL: the review service keeps a production's
casting beside its consents; localize reads it at every job. A dub that casts a character to a
performer's voice fails without a consent for 'voice' (with the reason), succeeds once one is
recorded (the dub names the performer and the consent it relied on, and its review item records
that reliance), and is flagged again when the consent is revoked. A series casting speaks the
characters an episode does not cast itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from helix.assets import AssetStore
from helix.casting import Casting, CastingEntry, ModelVoice, PerformerVoice, SeriesCasting
from helix.events import LocalizeRequested, Topic, VoiceoverSummary, decode
from helix.settings import HelixSettings
from helix.v1 import common_pb2, review_pb2, review_pb2_grpc
from helix_localize.app import LocalizeApp
from tests.integration.kafka_helpers import read_topic_async
from tests.integration.review_helpers import actor, review_settings, running_review
from tests.integration.test_localize_service import DANA, DATA, approve, earnest_script, finished, localize_settings, send

pytestmark = pytest.mark.infra
ROOT = actor("root", "admin")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from helix_dev.models.tiny_localize import build_tiny_marian, build_tiny_vits

    return {"marian": str(build_tiny_marian(tmp_path_factory.mktemp("marian"))),
            "vits": str(build_tiny_vits(tmp_path_factory.mktemp("vits")))}


@pytest_asyncio.fixture
async def stack(settings: HelixSettings, postgres_url: str, models: dict[str, str],
                ) -> AsyncIterator[tuple[review_pb2_grpc.ReviewServiceStub, LocalizeApp]]:
    async with (running_review(review_settings(settings, database_url=postgres_url, review_consent_sweep_s=3600)) as (review, stub),
                LocalizeApp(localize_settings(settings, models, localize_casting_address=review.grpc_address,
                                              localize_casting_timeout_s=20)) as localize):
        yield stub, localize


def dub_request(script: str, job_id: str) -> LocalizeRequested:
    return LocalizeRequested(production_id="earnest", job_id=job_id, requested_by=DANA, source_asset_id=script, target_locales=["de-DE"],
                             deliverables=["translation", "voiceover"], timed_source_asset_id="edit-dialogue")


async def approved_script(settings: HelixSettings, localize: LocalizeApp) -> str:
    """The earnest script, approved, with the edit's dialogue timing beside it."""
    script = earnest_script(settings)
    AssetStore(settings).put(production_id="earnest", kind="subtitles", asset_id="edit-dialogue",
                             data=(DATA / "dialogue.en.srt").read_bytes(), media_type="application/x-subrip", ext="srt")
    await approve(settings, localize, script)
    return script


async def job_end(settings: HelixSettings, job_id: str) -> Any:
    return [e for e in await finished(settings, job_id) if e.data.job_id == job_id][-1]


async def consent_findings(stub: review_pb2_grpc.ReviewServiceStub, asset_id: str, *, open_: bool, timeout: float = 60) -> list[Any]:
    """The dub's likeness-consent findings once one is in the wanted state."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        page = await stub.ListItems(review_pb2.ListItemsRequest(production_id="earnest", page=common_pb2.PageRequest(page_size=200)))
        findings = [f for item in page.items if item.asset.asset_id == asset_id for f in item.findings if f.check == "likeness_consent"]
        if findings and all(f.open == open_ for f in findings):
            return findings
        assert loop.time() < deadline, f"{asset_id}: {findings}"
        await asyncio.sleep(0.3)


@pytest.mark.slow  # over 30 s: `make test-slow` and CI run it
async def test_a_performer_voice_is_spoken_only_under_a_consent_and_flagged_when_it_is_revoked(
        settings: HelixSettings, stack: tuple[review_pb2_grpc.ReviewServiceStub, LocalizeApp], models: dict[str, str]) -> None:
    stub, localize = stack
    script = await approved_script(settings, localize)
    casting = Casting(production_id="earnest", entries=[
        CastingEntry(character="LANE", voice=PerformerVoice(performer="Ann Lee", model=models["vits"], speaker=1))])
    await stub.SetCasting(review_pb2.SetCastingRequest(actor=ROOT, casting_json=casting.model_dump_json()))

    send(settings, dub_request(script, "cast-1"))
    failed = await job_end(settings, "cast-1")
    assert failed.type == "helix.job.failed", failed.data
    assert "LANE's voice in de-DE is Ann Lee's, and no consent of theirs for 'voice' in production earnest" in failed.data.error

    consent = await stub.RecordConsent(review_pb2.RecordConsentRequest(actor=ROOT, performer="Ann Lee", scopes=["voice"],
                                                                       production_ids=["earnest"], reason="signed voice release"))
    send(settings, dub_request(script, "cast-2"))
    done = await job_end(settings, "cast-2")
    assert done.type == "helix.job.completed", done.data
    wav = "loc-de-DE-voiceover-wav-cast-2"
    events = {e.data.asset_id: e.data for e in (decode(r.value()) for r in await read_topic_async(settings, Topic.ASSETS_GENERATED,
                                                                                                   count=1000, timeout=3))}
    summary = events[wav].typed_summary()
    assert isinstance(summary, VoiceoverSummary)
    assert (summary.voices["LANE"].performer, summary.voices["LANE"].consent, summary.voices["LANE"].speaker) == \
        ("Ann Lee", consent.consent_id, 1)
    assert summary.voices["ALGERNON"].performer is None

    relied = await consent_findings(stub, wav, open_=False)
    assert all(consent.consent_id in f.resolution.reason for f in relied), "the dub's review records the consent it relies on"
    await stub.RevokeConsent(review_pb2.RevokeConsentRequest(consent_id=consent.consent_id, actor=ROOT, reason="withdrawn"))
    flagged = await consent_findings(stub, wav, open_=True)
    assert all("expired or been revoked" in f.message and f.blocks_approval for f in flagged)

    send(settings, dub_request(script, "cast-3"))  # and the next dub is refused again
    assert (await job_end(settings, "cast-3")).type == "helix.job.failed"


async def test_a_series_casting_speaks_the_characters_its_episode_does_not_cast(
        settings: HelixSettings, stack: tuple[review_pb2_grpc.ReviewServiceStub, LocalizeApp], models: dict[str, str]) -> None:
    stub, localize = stack
    script = await approved_script(settings, localize)
    series = SeriesCasting(series_id="wilde", entries=[CastingEntry(character="LANE", voice=ModelVoice(model=models["vits"], speaker=2)),
                                                       CastingEntry(character="ALGERNON", voice=ModelVoice(model=models["vits"], speaker=2))])
    await stub.SetSeriesCasting(review_pb2.SetSeriesCastingRequest(actor=ROOT, series_json=series.model_dump_json()))
    episode = Casting(production_id="earnest", series_id="wilde",
                      entries=[CastingEntry(character="ALGERNON", voice=ModelVoice(model=models["vits"], speaker=0))])
    await stub.SetCasting(review_pb2.SetCastingRequest(actor=ROOT, casting_json=episode.model_dump_json()))
    assert list((await stub.GetSeriesCasting(review_pb2.GetSeriesCastingRequest(series_id="wilde"))).production_ids) == ["earnest"]

    send(settings, dub_request(script, "series-1"))
    done = await job_end(settings, "series-1")
    assert done.type == "helix.job.completed", done.data
    events = {e.data.asset_id: e.data for e in (decode(r.value()) for r in await read_topic_async(settings, Topic.ASSETS_GENERATED,
                                                                                                   count=1000, timeout=3))}
    summary = events["loc-de-DE-voiceover-wav-series-1"].typed_summary()
    assert isinstance(summary, VoiceoverSummary)
    assert (summary.voices["LANE"].model, summary.voices["LANE"].speaker) == (models["vits"], 2), "the series casts LANE"
    assert (summary.voices["ALGERNON"].model, summary.voices["ALGERNON"].speaker) == (models["vits"], 0), "the episode casts ALGERNON"
