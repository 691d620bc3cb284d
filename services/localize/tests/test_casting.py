"""Voice casting in localize: each character's voice from the production's casting (a model
voice, or a performer's only under a consent for 'voice'), the stable choice for the rest; a
dub cast to a performer fails without a consent in force, and records the performer and the
consent it relied on when there is one (on the core's in-memory store and bus)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from helix.casting import Casting, CastingEntry, ModelVoice, PerformerVoice, ResolvedCasting, SeriesCasting, SpokenVoice
from helix.documents import TimingReport
from helix.events import Actor, AssetKind, JobCompleted, JobFailed, LocalizeRequested, VoiceoverSummary
from helix.generation.ids import LocaleAssetId, LocalePart
from helix.generation.jobs import JobRefused
from helix_localize.casting import NoCasting, voices
from helix_localize.localize import Localizer
from helix_localize.settings import LocalizeSettings
from helix_localize.translation import Translator
from helix_localize.voice import Speaker

from .conftest import DATA, PRODUCTION, SCRIPT, SECRET, Desk, earnest_script

ANN = PerformerVoice(performer="Ann Lee", model="voices/ann-lee", speaker=1)
SPEAKERS = {"default": 4, "voices/ann-lee": 2, "other": 3}


def cast(*entries: CastingEntry, consents: dict[str, str] | None = None) -> ResolvedCasting:
    return ResolvedCasting(casting=Casting(production_id=PRODUCTION, entries=list(entries)), consents=consents or {})


def spoken(resolved: ResolvedCasting, locale: str = "de-DE", configured: dict[str, int] | None = None) -> dict[str, SpokenVoice]:
    return voices(resolved, ["MARA", "JONAS", "LENA"], locale, "default", SPEAKERS.__getitem__, configured or {})


def test_with_no_casting_every_character_gets_a_distinct_speaker_of_the_locale_voice() -> None:
    chosen = spoken(cast())
    assert {v.model for v in chosen.values()} == {"default"} and len({v.speaker for v in chosen.values()}) == 3
    assert chosen == spoken(cast()), "the same choice every time"


def test_cast_entries_decide_and_the_rest_keep_their_own_choice() -> None:
    resolved = cast(CastingEntry(character="Mara", voice=ModelVoice(speaker=3)),
                    CastingEntry(character="JONAS", locale="de", voice=ModelVoice(model="other", speaker=2)),
                    CastingEntry(character="LENA", locale="fr", voice=ANN))
    chosen = spoken(resolved)
    assert chosen["MARA"] == SpokenVoice(model="default", speaker=3)
    assert chosen["JONAS"] == SpokenVoice(model="other", speaker=2)
    assert chosen["LENA"].model == "default" and chosen["LENA"].speaker != 3, "uncast in de: a free speaker of the locale's voice"


def test_a_performer_voice_needs_a_consent_in_force() -> None:
    entry = CastingEntry(character="LENA", voice=ANN)
    with pytest.raises(JobRefused, match="LENA's voice in de-DE is Ann Lee's, and no consent of theirs for 'voice'"):
        spoken(cast(entry))
    chosen = spoken(cast(entry, consents={"Ann Lee": "consent-1"}))
    assert chosen["LENA"] == SpokenVoice(model="voices/ann-lee", speaker=1, performer="Ann Lee", consent="consent-1")


def test_a_series_speaks_the_characters_the_episode_does_not_cast() -> None:
    series = SeriesCasting(series_id="harbour", entries=[CastingEntry(character="LENA", voice=ANN),
                                                         CastingEntry(character="MARA", voice=ModelVoice(speaker=0))])
    episode = Casting(production_id=PRODUCTION, series_id="harbour", entries=[CastingEntry(character="MARA", voice=ModelVoice(speaker=2))])
    with pytest.raises(JobRefused, match="LENA's voice in de-DE is Ann Lee's"):
        spoken(ResolvedCasting(casting=episode, series=series))
    chosen = spoken(ResolvedCasting(casting=episode, series=series, consents={"Ann Lee": "consent-1"}))
    assert chosen["LENA"].performer == "Ann Lee", "from the series"
    assert chosen["MARA"] == SpokenVoice(model="default", speaker=2), "the episode's own entry wins"


def test_a_speaker_the_model_does_not_have_is_refused() -> None:
    with pytest.raises(JobRefused, match="MARA is cast to speaker 7 of other, which has 3"):
        spoken(cast(CastingEntry(character="MARA", voice=ModelVoice(model="other", speaker=7))))


async def test_no_casting_reads_as_an_empty_one() -> None:
    assert (await NoCasting().casting("p")).casting.entries == []


class FixedCasting:
    def __init__(self, resolved: ResolvedCasting) -> None:
        self.resolved = resolved

    async def casting(self, production_id: str) -> ResolvedCasting:
        assert production_id == PRODUCTION
        return self.resolved


@pytest.fixture
async def engines() -> AsyncIterator[tuple[Translator, Speaker]]:
    async with Translator(dtype="float32", device="cpu") as translator, Speaker(device="cpu") as speaker:
        yield translator, speaker


async def dub(desk: Desk, engines: tuple[Translator, Speaker], tiny_marian: str, tiny_vits: str, earnest_lines: list[dict],
              resolved: ResolvedCasting, job_id: str) -> JobCompleted | JobFailed:
    settings = LocalizeSettings(localize_translation_models={"*": tiny_marian}, localize_voices={"*": tiny_vits}, localize_device="cpu",
                                localize_dtype="float32", localize_shorten_with_writer=False, c2pa_enabled=False, auth_secret=SECRET)
    if not desk.store.versions(PRODUCTION, AssetKind.SCRIPT, SCRIPT):
        await desk.approve(desk.put_script(earnest_script(earnest_lines)), AssetKind.SCRIPT)
        desk.put(AssetKind.SUBTITLES, "edit", (DATA / "dialogue.en.srt").read_bytes(), media_type="application/x-subrip")
    request = LocalizeRequested(production_id=PRODUCTION, job_id=job_id, requested_by=Actor(subject="dana"), source_asset_id=SCRIPT, target_locales=["de-DE"],
                                timed_source_asset_id="edit", deliverables=["translation", "voiceover"])
    return await desk.run(request, Localizer(desk.documents, *engines, settings, casting=FixedCasting(resolved)).run)


async def test_a_dub_cast_to_a_performer_fails_without_consent_and_records_it_with_one(
        desk: Desk, engines: tuple[Translator, Speaker], tiny_marian: str, tiny_vits: str, earnest_lines: list[dict]) -> None:
    performer = PerformerVoice(performer="Ann Lee", model=tiny_vits, speaker=0)  # their own model: the tiny one stands in
    entry = CastingEntry(character="LANE", voice=performer)
    failed = await dub(desk, engines, tiny_marian, tiny_vits, earnest_lines, cast(entry), "loc-no-consent")
    assert isinstance(failed, JobFailed) and not failed.retriable
    assert "LANE's voice in de-DE is Ann Lee's, and no consent of theirs for 'voice'" in failed.error
    assert desk.store.versions(PRODUCTION, AssetKind.VOICEOVER, str(LocaleAssetId("de-DE", LocalePart.VOICEOVER_WAV, "loc-no-consent"))) == []

    done = await dub(desk, engines, tiny_marian, tiny_vits, earnest_lines, cast(entry, consents={"Ann Lee": "consent-7"}), "loc-consent")
    assert isinstance(done, JobCompleted)
    wav = str(LocaleAssetId("de-DE", LocalePart.VOICEOVER_WAV, "loc-consent"))
    recorded: dict[str, Any] = desk.announced(wav).inputs["voices"]
    assert recorded["LANE"] == {"model": tiny_vits, "speaker": 0, "performer": "Ann Lee", "consent": "consent-7"}
    assert "performer" not in recorded["ALGERNON"], "only the cast performer is named"
    summary = desk.announced(wav).typed_summary()
    assert isinstance(summary, VoiceoverSummary) and summary.voices["LANE"].performer == "Ann Lee"
    timing = TimingReport.model_validate_json(desk.latest(AssetKind.VOICEOVER, str(LocaleAssetId("de-DE", LocalePart.VOICEOVER_TIMING, "loc-consent"))))
    assert timing.voice.voices["LANE"].consent == "consent-7" and timing.voice.speakers["LANE"] == 0
