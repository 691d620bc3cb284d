"""The contracts that live once in the core: stored documents, typed asset summaries, request
causes, the locale registry and level contents. Within `.v1` models only gain optional
fields, so events recorded before a field existed still parse and keep their meaning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from helix.documents import (
    DOCUMENT_MODELS,
    AnimaticPlan,
    ScriptDocument,
    StoryboardDocument,
    SubtitleQcReport,
    TimelineDocument,
    TranslationDocument,
    part_document,
)
from helix.events import (
    AssetGenerated,
    CloudEvent,
    LocalizeRequested,
    ScriptLevelRewritten,
    SubtitlesSummary,
    TranslationSummary,
    VoiceoverSummary,
    decode,
)
from helix.events.examples import example
from helix.events.schemas import export_document_schemas
from helix.generation.ids import ImageAssetId, ImageFamily, Reaction, ScriptAssetId, ScriptPart, reaction_job_id

# An asset event as landed main published it (2026-11-25): figures in `parameters`, no summary, no cause.
RECORDED_SUBTITLES = {
    "specversion": "1.0", "id": "3f6f5a0e-7d0b-5b0e-9d5d-1c2b3a4f5e6d", "source": "/helix/localize", "type": "helix.asset.generated",
    "subject": "earnest", "time": "2026-11-25T10:00:00+00:00", "datacontenttype": "application/json",
    "dataschema": "urn:helix:schema:helix.asset.generated:1",
    "data": {"production_id": "earnest", "asset_id": "loc-de-DE-subtitles-srt-loc-1", "job_id": "loc-1", "kind": "subtitles", "version": 1,
             "object_key": "productions/earnest/subtitles/loc-de-DE-subtitles-srt-loc-1/v1.srt", "sha256": "0" * 64, "size_bytes": 120,
             "media_type": "application/x-subrip", "model": {"id": "tiny-marian", "revision": "r1"},
             "parameters": {"locale": "de-DE", "format": "srt", "events": 4, "qc": {"passed": False, "breaches": 3, "rules": ["reading_speed"],
                                                                                     "fixes": 1}},
             "generated_by": {"subject": "localize", "kind": "service"}, "generated_at": "2026-11-25T10:00:00+00:00"},
}


def test_every_event_recorded_before_summaries_still_parses_and_keeps_its_meaning() -> None:
    event = decode(json.dumps(RECORDED_SUBTITLES).encode())
    assert isinstance(event.data, AssetGenerated) and event.data.summary is None and event.data.caused_by is None
    summary = event.data.typed_summary()
    assert isinstance(summary, SubtitlesSummary) and summary.qc.passed is False and summary.qc.breaches == 3
    def recorded(kind: str, parameters: dict[str, object]) -> AssetGenerated:
        return AssetGenerated.model_validate({**RECORDED_SUBTITLES["data"], "kind": kind, "parameters": parameters})

    dub = recorded("voiceover", {"locale": "de-DE", "timing": {"lines": 4, "overshoots": 2}}).typed_summary()
    assert isinstance(dub, VoiceoverSummary) and dub.timing is not None and dub.timing.overshoots == 2
    assert isinstance(recorded("script", {"locale": "de-DE", "locked_terms_missing": 1}).typed_summary(), TranslationSummary)
    assert recorded("frame", {"steps": 4}).typed_summary() is None


def test_a_summary_is_one_typed_shape_per_kind_and_round_trips_through_the_event() -> None:
    summary = TranslationSummary(locale="de-DE", lines=4, locked_terms=3, locked_terms_missing=1, avoided_terms=0)
    data = example(AssetGenerated, summary=summary.model_dump())
    again = CloudEvent[AssetGenerated].model_validate_json(CloudEvent[AssetGenerated](
        id="e1", source="/t", type="helix.asset.generated", time="2026-01-01T00:00:00Z", data=data).model_dump_json()).data  # type: ignore[arg-type]
    assert again.typed_summary() == summary
    with pytest.raises(ValidationError):
        example(AssetGenerated, summary={"kind": "subtitles", "locale": "de-DE"})  # a subtitles summary without its QC


def test_stored_documents_validate_what_producers_write() -> None:
    board = StoryboardDocument.model_validate({"level": "storyboard-s1", "script_id": "script-j", "content": {
        "production_id": "p", "script_id": "script-j", "scene_id": "s1",
        "shots": [{"shot_id": "s1-shot1", "shot_type": "wide", "camera": "pan", "subjects": ["MARA"], "action": "waits",
                   "location": "Lamp room", "duration_s": 3}]}})
    assert board.content.shots[0].camera.value == "pan"
    with pytest.raises(ValidationError):
        StoryboardDocument.model_validate({"level": "storyboard-s1", "script_id": "script-j", "content": {"shots": [{"shot_id": "x"}]}})
    qc = SubtitleQcReport.model_validate({"language": "de", "audience": "adult", "frame_rate": "24000/1001", "events": 2, "passed": False,
                                          "breaches": [{"rule": "reading_speed", "event": 1, "message": "too fast"}]})
    assert qc.breaches[0].rule == "reading_speed"
    timeline = TimelineDocument.model_validate({"timeline": {"source": "synthesized", "asset_id": "loc-en-timeline-j", "lines": [
        {"line_id": "s1-l1", "scene_id": "s1", "speaker": "A", "text": "Hi.", "start": 0.5, "end": 1.0}]}})
    assert timeline.timeline.lines[0].end == 1.0
    plan = AnimaticPlan(production_id="p", localization_job="loc-1", locale="de-DE", script={"asset_id": "script-j-script", "version": 1},
                        source_locale="en", cuts=[], dub={"asset_id": "loc-de-DE-voiceover-wav-loc-1", "version": 2}, duration=3.0)
    assert [str(s) for s in plan.sources()] == ["script-j-script@v1", "loc-de-DE-voiceover-wav-loc-1@v2"]


def test_each_script_part_has_its_document_model() -> None:
    assert part_document(ScriptAssetId("script-j", ScriptPart.SCRIPT)) is ScriptDocument
    assert part_document(ScriptAssetId("script-j", ScriptPart.STORYBOARD, "s1")) is StoryboardDocument
    assert part_document(ScriptAssetId("script-j", ScriptPart.DIALOGUE, "s1", rewrite_job="j2")).__name__ == "LevelDocument[DialogueRewrite]"
    assert part_document(ScriptAssetId("script-j", ScriptPart.FOUNTAIN)) is None


def test_every_document_exports_a_json_schema(tmp_path: Path) -> None:
    written = export_document_schemas(tmp_path)
    assert len(written) == len(DOCUMENT_MODELS) == len({p.name for p in written})
    translation = json.loads((tmp_path / "document.translation.json").read_text())
    assert translation["$id"] == "urn:helix:document:translation" and "lines" in translation["required"]
    assert TranslationDocument.model_json_schema()["title"] == "TranslationDocument"


def test_locales_are_the_ones_cldr_knows() -> None:
    assert example(LocalizeRequested, target_locales=["de-DE", "pt-BR", "es-419", "ja"]).target_locales[-1] == "ja"
    with pytest.raises(ValidationError, match="'xx-YY' is not a locale CLDR knows"):
        example(LocalizeRequested, target_locales=["xx-YY"])


def test_a_level_rewrite_carries_content_of_its_level() -> None:
    assert example(ScriptLevelRewritten, level="places", content=[{"name": "Pier", "description": "wet"}]).level == "places"
    for level, content in (("title", None), ("title", {"name": "x"}), ("characters", [{"name": "MARA"}]), ("scenes", "s1")):
        with pytest.raises(ValidationError, match=f"content is not a {level} level"):
            example(ScriptLevelRewritten, level=level, content=content)


def test_reaction_jobs_are_named_by_the_decision_and_never_truncated() -> None:
    assert reaction_job_id(Reaction.FRAMES, "dec-1") == "fr-dec-1"
    long = "d" * 130
    job = reaction_job_id(Reaction.FRAMES, long)
    assert len(job) <= 128 and job == reaction_job_id(Reaction.FRAMES, long) != reaction_job_id(Reaction.FRAMES, long + "x")
    assert ImageAssetId.parse(str(ImageAssetId(ImageFamily.FRAME, job, "s1-shot1"))) is not None
