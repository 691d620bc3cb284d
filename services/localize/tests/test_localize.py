"""A localization job end to end on the tiny Marian and VITS, the core's in-memory store and bus:
the approved script and a timeline (the studio's timed source, or Helix's own source-language
voice-over), then per locale a translation, subtitle files with their QC report and a dub with
its timing report, each a typed document with lineage and a typed summary; refusals before
any work; a redelivered job reuses what it stored; the writer's shorter lines recorded."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
import soundfile

from helix.documents import SubtitleQcReport, TimelineDocument, TimingReport, TranslationDocument
from helix.events import (
    Actor,
    AssetKind,
    Authorship,
    JobCompleted,
    JobFailed,
    JobProgress,
    LocalizeRequested,
    ModelRef,
    SubtitlesSummary,
    TranslationSummary,
    VoiceoverSummary,
)
from helix.generation.ids import LocaleAssetId, LocalePart
from helix_localize.formats import read_timed
from helix_localize.listening import Heard
from helix_localize.localize import Localizer
from helix_localize.settings import LocalizeSettings
from helix_localize.translation import Translator
from helix_localize.voice import Speaker

from .conftest import DATA, PRODUCTION, SCRIPT, SECRET, Desk, FakeWriter, earnest_script, script_of

EDIT = "edit-dialogue"  # the studio's timed dialogue list
SRT_STARTS = [1.0, 3.8, 6.6]  # its first three cues (dialogue.en.srt)


def loc(locale: str, part: LocalePart, job_id: str = "loc-1") -> str:
    return str(LocaleAssetId(locale, part, job_id))


@pytest.fixture
async def engines() -> AsyncIterator[tuple[Translator, Speaker]]:
    async with Translator(dtype="float32", device="cpu") as translator, Speaker(device="cpu") as speaker:
        yield translator, speaker


@pytest.fixture
def make_localizer(desk: Desk, engines: tuple[Translator, Speaker], tiny_marian: str, tiny_vits: str) -> Any:
    def make(listener: Any = None, **overrides: Any) -> Localizer:
        settings = LocalizeSettings(**{"localize_translation_models": {"*": tiny_marian}, "localize_voices": {"*": tiny_vits},
                                       "localize_device": "cpu", "localize_dtype": "float32", "localize_shorten_with_writer": False,
                                       "c2pa_enabled": False, "auth_secret": SECRET, **overrides})
        return Localizer(desk.documents, *engines, settings, listener)

    return make


def request(job_id: str = "loc-1", **fields: Any) -> LocalizeRequested:
    values: dict[str, Any] = {"production_id": PRODUCTION, "job_id": job_id, "requested_by": Actor(subject="dana"),
                              "source_asset_id": SCRIPT, "target_locales": ["de-DE"], "timed_source_asset_id": EDIT}
    return LocalizeRequested(**{**values, **fields})


async def approved_earnest(desk: Desk, earnest_lines: list[dict], *, timed: bytes | None = None) -> None:
    """The first three Earnest lines as an approved script, and the studio's timed dialogue list."""
    await desk.approve(desk.put_script(earnest_script(earnest_lines)), AssetKind.SCRIPT)
    desk.put(AssetKind.SUBTITLES, EDIT, timed or (DATA / "dialogue.en.srt").read_bytes(), media_type="application/x-subrip")


async def test_a_studio_timeline_gives_a_locale_its_translation_subtitles_and_dub(desk: Desk, make_localizer: Any,
                                                                                  earnest_lines: list[dict], tiny_marian: str,
                                                                                  tiny_vits: str) -> None:
    await approved_earnest(desk, earnest_lines)
    job = request(deliverables=["translation", "subtitles", "voiceover"], formats=["srt", "vtt"])
    done = await desk.run(job, make_localizer().run)
    de = [loc("de-DE", p) for p in (LocalePart.TRANSLATION, LocalePart.SUBTITLES_SRT, LocalePart.SUBTITLES_VTT, LocalePart.SUBTITLES_QC,
                                     LocalePart.VOICEOVER_WAV, LocalePart.VOICEOVER_FLAC, LocalePart.VOICEOVER_TIMING)]
    timeline_id = loc("en", LocalePart.TIMELINE)
    assert isinstance(done, JobCompleted) and done.asset_ids == [timeline_id, *de]

    timeline = TimelineDocument.model_validate_json(desk.latest(AssetKind.VOICEOVER, timeline_id))
    assert timeline.timeline.source == "studio" and timeline.timeline.asset_id == EDIT and timeline.assets == [timeline_id]
    assert [t.start for t in timeline.timeline.lines] == SRT_STARTS, "each line at its cue, matched by text"
    announced = desk.announced(timeline_id)
    assert announced.authorship is Authorship.HUMAN and announced.model is None and announced.parent_asset_ids == [SCRIPT, EDIT]

    translation = TranslationDocument.model_validate_json(desk.latest(AssetKind.SCRIPT, de[0]))
    assert [r.line_id for r in translation.lines] == ["s1-l1", "s1-l2", "s1-l3"] and translation.script == SCRIPT
    assert translation.timeline.asset_id == EDIT and translation.lines[0].source == earnest_lines[0]["en"]
    assert "Lane" in translation.lines[0].locked and translation.lines[0].missing == [], "a name survives translation as written"
    summary = desk.announced(de[0]).typed_summary()
    assert isinstance(summary, TranslationSummary) and summary.lines == 3 and summary.locked_terms == 1
    assert desk.announced(de[0]).parent_asset_ids == [SCRIPT, EDIT] and desk.announced(de[0]).model.id == tiny_marian

    qc = SubtitleQcReport.model_validate_json(desk.latest(AssetKind.SUBTITLES, de[3]))
    for fmt, asset_id in (("srt", de[1]), ("vtt", de[2])):
        cues = read_timed(desk.latest(AssetKind.SUBTITLES, asset_id), name=f"de.{fmt}")
        assert len(cues) == qc.events and cues[0][0] == pytest.approx(SRT_STARTS[0], abs=0.05)
        file_summary = desk.announced(asset_id).typed_summary()
        assert isinstance(file_summary, SubtitlesSummary) and file_summary.format == fmt and file_summary.qc.passed == qc.passed
        assert desk.announced(asset_id).parent_asset_ids == [de[0], EDIT]
    assert desk.announced(de[3]).parent_asset_ids == [de[1], de[2], de[0]] and qc.language == "de"

    timing = TimingReport.model_validate_json(desk.latest(AssetKind.VOICEOVER, de[6]))
    assert [line.start for line in sorted(timing.lines, key=lambda x: x.start)] == SRT_STARTS, "every dubbed line starts on its slot"
    assert timing.voice.model.id == tiny_vits and set(timing.voice.speakers) == {"ALGERNON", "LANE"} and timing.changes == []
    dub = desk.announced(de[4]).typed_summary()
    assert isinstance(dub, VoiceoverSummary) and dub.role == "dub" and dub.timing is not None and dub.timing.lines == 3
    samples, rate = soundfile.read(io.BytesIO(desk.latest(AssetKind.VOICEOVER, de[5])))
    assert rate == 48_000 and len(samples) / rate == pytest.approx(timing.seconds, abs=0.01)
    assert desk.announced(de[6]).parent_asset_ids == [de[4], de[5], de[0], EDIT]

    steps = [p.step for p in desk.bus.of_type(JobProgress)]
    assert steps == ["timeline from the studio source: 3 lines", "de-DE: translated", "de-DE: subtitles", "de-DE: voice-over"]
    assert desk.bus.of_type(JobProgress)[-1].fraction == 1.0


async def test_without_a_timed_source_helix_speaks_the_script_and_that_is_the_timeline(desk: Desk, make_localizer: Any,
                                                                                      earnest_lines: list[dict], tiny_vits: str) -> None:
    await desk.approve(desk.put_script(earnest_script(earnest_lines)), AssetKind.SCRIPT)
    done = await desk.run(request("loc-2", timed_source_asset_id=None, target_locales=["ja-JP"]), make_localizer().run)
    source = [loc("en", p, "loc-2") for p in (LocalePart.VOICEOVER_WAV, LocalePart.VOICEOVER_FLAC, LocalePart.TIMELINE)]
    ja = [loc("ja-JP", p, "loc-2") for p in (LocalePart.TRANSLATION, LocalePart.SUBTITLES_VTT, LocalePart.SUBTITLES_QC)]
    assert isinstance(done, JobCompleted) and done.asset_ids == [*source, *ja], "subtitles only, in the default format"

    timeline = TimelineDocument.model_validate_json(desk.latest(AssetKind.VOICEOVER, source[2]))
    assert timeline.timeline.source == "synthesized" and timeline.timeline.asset_id == source[2] and timeline.assets == source
    lines = timeline.timeline.lines
    assert lines[0].start == 0.5 and all(b.start > a.end for a, b in zip(lines, lines[1:], strict=False)), "end to end, with pauses"
    spoken = desk.announced(source[0])
    summary = spoken.typed_summary()
    assert spoken.model.id == tiny_vits and isinstance(summary, VoiceoverSummary) and (summary.locale, summary.role) == ("en", "source")
    assert set(summary.voices) == {"ALGERNON", "LANE"} and {v.model for v in summary.voices.values()} == {tiny_vits}, \
        "who spoke each character"
    assert len({v.speaker for v in summary.voices.values()}) == 2 and all(v.performer is None for v in summary.voices.values())
    assert desk.announced(source[2]).authorship is Authorship.AI and desk.announced(source[2]).parent_asset_ids == [SCRIPT, *source[:2]]
    samples, rate = soundfile.read(io.BytesIO(desk.latest(AssetKind.VOICEOVER, source[1])))
    assert len(samples) / rate >= lines[-1].end, "the whole script is spoken"
    assert TranslationDocument.model_validate_json(desk.latest(AssetKind.SCRIPT, ja[0])).timeline.source == "synthesized"


async def test_a_redelivered_job_reuses_what_it_stored(desk: Desk, make_localizer: Any, earnest_lines: list[dict]) -> None:
    await approved_earnest(desk, earnest_lines)
    localizer = make_localizer()
    job = request(deliverables=["subtitles", "voiceover"], formats=["srt"])
    first = await desk.run(job, localizer.run)
    puts = desk.store.puts
    again = await desk.run(job, localizer.run)
    assert isinstance(first, JobCompleted) and isinstance(again, JobCompleted) and again.asset_ids == first.asset_ids
    assert desk.store.puts == puts, "nothing made or stored twice"
    assert all(len(desk.store.versions(PRODUCTION, LocaleAssetId.parse(a).kind, a)) == 1 for a in first.asset_ids)  # type: ignore[union-attr]


@pytest.mark.parametrize(("fields", "settings", "reason"), [
    ({"target_locales": ["sw-KE"]}, {}, "cannot translate into 'sw'"),
    ({"deliverables": ["voiceover"]}, {"localize_voices": {"en": "x"}}, "no voice for locale de-DE"),
    ({"timed_source_asset_id": None}, {"localize_voices": {"de": "x"}},
     "no voice for locale en: HELIX_LOCALIZE_VOICES has de; without one, send a timed dialogue list (timed_source_asset_id)"),
    ({"source_asset_id": "script-earn-title"}, {}, "script-earn-title is not an assembled script"),
    ({"source_asset_id": "script-draft-script"}, {}, "script script-draft-script is not approved"),
    ({"source_asset_id": "script-quiet-script"}, {}, "script-quiet-script has no dialogue to localize"),
    ({"timed_source_asset_id": "edit-missing"}, {}, f"no timed source edit-missing in production {PRODUCTION}"),
])
async def test_what_cannot_be_done_is_refused_before_any_work(desk: Desk, make_localizer: Any, earnest_lines: list[dict],
                                                              fields: dict[str, Any], settings: dict[str, Any], reason: str) -> None:
    await approved_earnest(desk, earnest_lines)
    desk.put_script(earnest_script(earnest_lines), "script-draft")
    await desk.approve(desk.put_script(script_of({"s1": []}), "script-quiet"), AssetKind.SCRIPT)
    puts = desk.store.puts
    failed = await desk.run(request(**fields), make_localizer(**settings).run)
    assert isinstance(failed, JobFailed) and not failed.retriable and reason in failed.error
    assert desk.store.puts == puts


async def test_lines_too_long_for_their_slot_are_dubbed_in_the_writers_shorter_version(desk: Desk, make_localizer: Any,
                                                                                       earnest_lines: list[dict],
                                                                                       writer: tuple[FakeWriter, str]) -> None:
    fake, address = writer
    fake.answer = lambda line: ["Ja."]
    tight = b"1\n00:00:01,000 --> 00:00:01,100\nA\n\n2\n00:00:01,200 --> 00:00:01,300\nB\n\n3\n00:00:01,400 --> 00:00:01,500\nC\n"
    await approved_earnest(desk, earnest_lines, timed=tight)
    localizer = make_localizer(localize_shorten_with_writer=True, localize_writer_address=address)
    done = await desk.run(request(deliverables=["voiceover"]), localizer.run)
    assert isinstance(done, JobCompleted)
    (asked, _), = fake.calls
    assert asked.market == "de-DE" and {line.line_id for line in asked.lines} <= {"s1-l1", "s1-l2", "s1-l3"} and asked.lines
    timing = TimingReport.model_validate_json(desk.latest(AssetKind.VOICEOVER, loc("de-DE", LocalePart.VOICEOVER_TIMING)))
    assert timing.changes and all(c.replacement == "Ja." and c.by is not None and c.by.id == "tiny-llama" for c in timing.changes)
    shortened = {c.line_id for c in timing.changes}
    assert {line.line_id for line in timing.lines if line.method.startswith("shortened")} == shortened
    dub = desk.announced(loc("de-DE", LocalePart.VOICEOVER_WAV))
    assert dub.typed_summary().timing.shortened == len(shortened)  # type: ignore[union-attr]
    assert {"id": "tiny-llama", "revision": "sha256:feed"} in dub.inputs["models"], "the writer's model is named beside the voice"


class Listener:
    """Hears every line as written except the second, which it hears as something else (the
    real Whisper is in test_listening)."""

    def __init__(self) -> None:
        self.languages: list[str] = []

    def ref(self) -> ModelRef:
        return ModelRef(id="whisper:stand-in", revision="sha256:0")

    def hear_all(self, lines: list[tuple[str, str, Any, int]], language: str) -> tuple[list[Heard], float]:
        self.languages.append(language)
        heard = [Heard(line_id, text, "nothing like it" if n == 1 else text, 1.0 if n == 1 else 0.0, 0.9 if n == 1 else 0.0,
                       len(audio) / rate) for n, (line_id, text, audio, rate) in enumerate(lines)]
        return heard, 0.5


async def test_a_dub_is_listened_to_line_by_line_and_the_lines_not_heard_as_written_are_in_its_summary(
        desk: Desk, make_localizer: Any, earnest_lines: list[dict]) -> None:
    await approved_earnest(desk, earnest_lines)
    listener = Listener()
    done = await desk.run(request(deliverables=["translation", "voiceover"]), make_localizer(listener, localize_listen_wer_limit=0.3).run)
    assert isinstance(done, JobCompleted) and listener.languages == ["de"], "the locale's language, never guessed"
    dub = desk.announced(loc("de-DE", LocalePart.VOICEOVER_WAV)).typed_summary()
    assert isinstance(dub, VoiceoverSummary) and dub.listening is not None
    listening = dub.listening
    assert listening.lines == 3 and listening.wer_limit == 0.3 and listening.model.id == "whisper:stand-in" and listening.median_wer == 0.0
    timing = TimingReport.model_validate_json(desk.latest(AssetKind.VOICEOVER, loc("de-DE", LocalePart.VOICEOVER_TIMING)))
    second = sorted(timing.lines, key=lambda x: x.start)[1]
    [flagged] = listening.flagged
    assert flagged.line_id == second.line_id and flagged.transcript == "nothing like it" and flagged.text == second.text
    assert flagged.start == pytest.approx(second.start, abs=0.001) and flagged.end > flagged.start
