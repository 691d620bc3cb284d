"""Asset ids of generated assets: built and parsed in one place, the two always agree."""

from __future__ import annotations

import pytest

from helix.events import AssetKind, ScriptLevel
from helix.generation.ids import (
    ImageAssetId,
    ImageFamily,
    LocaleAssetId,
    LocalePart,
    ScriptAssetId,
    ScriptPart,
    parse_asset_id,
    script_id_for,
    shot_id,
)


@pytest.mark.parametrize("asset_id, part, scene, rewrite, level, kind", [
    ("script-job-1-title", ScriptPart.TITLE, None, None, ScriptLevel.TITLE, AssetKind.SCRIPT),
    ("script-job-1-places", ScriptPart.PLACES, None, None, ScriptLevel.PLACES, AssetKind.SCRIPT),
    ("script-job-1-fountain", ScriptPart.FOUNTAIN, None, None, None, AssetKind.SCRIPT),
    ("script-job-1-dialogue-s12", ScriptPart.DIALOGUE, "s12", None, ScriptLevel.DIALOGUE, AssetKind.DIALOGUE),
    ("script-job-1-storyboard-s2", ScriptPart.STORYBOARD, "s2", None, None, AssetKind.STORYBOARD),
    ("script-job-1-dialogue-s1-rewrite-job-9", ScriptPart.DIALOGUE, "s1", "job-9", None, AssetKind.DIALOGUE),
])
def test_script_asset_ids_parse_back_to_what_built_them(asset_id: str, part: ScriptPart, scene: str | None, rewrite: str | None,
                                                         level: ScriptLevel | None, kind: AssetKind) -> None:
    parsed = ScriptAssetId.parse(asset_id)
    assert parsed == ScriptAssetId("script-job-1", part, scene, rewrite)
    assert str(parsed) == asset_id and parsed.level == level and parsed.kind == kind
    assert ScriptAssetId.of("script-job-1", parsed.name) == parsed


def test_a_job_id_with_dashes_and_digits_still_parses() -> None:
    script = script_id_for("job-2024-11-25")
    title = ScriptAssetId(script, ScriptPart.TITLE)
    assert ScriptAssetId.parse(str(title)) == title


def test_ids_stay_within_the_contract_length_for_long_job_ids() -> None:
    long_job = "j" * 128
    script = script_id_for(long_job)
    assert script == script_id_for(long_job), "the same job always gets the same id"
    longest = ScriptAssetId(script, ScriptPart.DIALOGUE, "s60", rewrite_job=long_job)
    assert len(str(longest)) <= 128 and ScriptAssetId.parse(str(longest)) == ScriptAssetId(script, ScriptPart.DIALOGUE, "s60",
                                                                                           str(longest).rsplit("-rewrite-", 1)[1])
    frame = ImageAssetId(ImageFamily.FRAME, long_job, shot_id("s60", 12))
    assert len(str(frame)) <= 128 and ImageAssetId.parse(str(frame)).item == "s60-shot12"  # type: ignore[union-attr]


@pytest.mark.parametrize("asset_id, family, job, item", [
    ("frame-job-1-s1-shot2", ImageFamily.FRAME, "job-1", "s1-shot2"),
    ("frame-job-1-3", ImageFamily.FRAME, "job-1", "3"),
    ("scene-job-1", ImageFamily.SCENE, "job-1", None),
    ("texture-job-2024-7", ImageFamily.TEXTURE, "job-2024-7", None),
])
def test_image_asset_ids(asset_id: str, family: ImageFamily, job: str, item: str | None) -> None:
    parsed = ImageAssetId.parse(asset_id)
    assert parsed == ImageAssetId(family, job, item) and str(parsed) == asset_id
    assert parsed.kind == AssetKind(family.value)


def test_what_is_not_a_generated_asset_parses_to_none() -> None:
    assert parse_asset_id("a-1234") is None
    assert parse_asset_id("script-job-1-unknownpart") is None
    assert isinstance(parse_asset_id("scene-j1"), ImageAssetId)
    with pytest.raises(ValueError):
        ScriptAssetId("script-x", ScriptPart.DIALOGUE)  # a scene part needs its scene
    with pytest.raises(ValueError):
        ImageAssetId(ImageFamily.SCENE, "j", "1")  # a plate has no item


@pytest.mark.parametrize("locale, part, job", [
    ("de-DE", LocalePart.TRANSLATION, "job-1"),
    ("ja", LocalePart.SUBTITLES_TTML, "job-de-fr"),
    ("zh-Hant-TW", LocalePart.VOICEOVER_TIMING, "j.2"),
    ("en", LocalePart.TIMELINE, "job-timeline-9"),
])
def test_locale_asset_ids(locale: str, part: LocalePart, job: str) -> None:
    built = LocaleAssetId(locale, part, job)
    assert LocaleAssetId.parse(str(built)) == built and parse_asset_id(str(built)) == built
    assert built.kind == {"translation": AssetKind.SCRIPT, "subtitles": AssetKind.SUBTITLES}.get(part.value.split("-")[0], AssetKind.VOICEOVER)
