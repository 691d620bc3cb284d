"""What the console shows per kind: readable text with a person's parts marked, diffs, and cue
tables read from SubRip, WebVTT and TTML files written by those formats' own libraries."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import srt
import webvtt

from helix_gateway.console_views import HUMAN_MARK, layout_panel, parse_cues, render_text, text_diff, view_of

CUES = [(1.0, 3.2, "Vierzig Jahre"), (3.6, 5.4, "Nicht heute Nacht.")]


def test_views_by_kind_and_media_type() -> None:
    assert view_of("texture", "image/png") == "texture"
    assert view_of("frame", "image/png") == "image"
    assert view_of("voiceover", "audio/wav") == "audio"
    assert view_of("subtitles", "text/vtt") == "subtitles"
    assert view_of("subtitles", "application/json") == "text"  # a translation or a QC report
    assert view_of("script", "application/json") == "text"
    assert view_of("script", "application/octet-stream") == "binary"


def test_dialogue_renders_with_a_persons_lines_marked_and_diffs() -> None:
    v1 = [{"line_id": "s1-l1", "speaker": "MARA", "text": "Hold it.", "author": "ai"}]
    v2 = [*v1, {"line_id": "s1-l2", "speaker": "TOM", "parenthetical": "quietly", "text": "Now.", "author": "human"}]
    before = render_text(json.dumps({"content": v1}).encode(), "application/json")
    after = render_text(json.dumps({"content": v2}).encode(), "application/json")
    assert after.splitlines() == ["s1-l1 MARA: Hold it.", f"{HUMAN_MARK}s1-l2 TOM (quietly): Now."]
    diff = text_diff(before, after, "v1", "v2")
    assert f"+{HUMAN_MARK}s1-l2 TOM (quietly): Now." in diff.splitlines()
    assert render_text(b"INT. LAMP ROOM - NIGHT", "text/x-fountain") == "INT. LAMP ROOM - NIGHT"


def test_srt_cues_from_the_srt_library() -> None:
    text = srt.compose([srt.Subtitle(i + 1, timedelta(seconds=s), timedelta(seconds=e), t) for i, (s, e, t) in enumerate(CUES)])
    cues = parse_cues(text.encode(), "application/x-subrip")
    assert [(c.start, c.end, c.text) for c in cues] == CUES
    assert cues[0].chars_per_second == pytest.approx(len("Vierzig Jahre") / 2.2, abs=0.1)


def test_vtt_cues_from_webvtt_py() -> None:
    doc = webvtt.WebVTT()
    for s, e, t in CUES:
        doc.captions.append(webvtt.Caption(f"00:00:{s:06.3f}", f"00:00:{e:06.3f}", t))
    out = io.StringIO()
    doc.write(out)
    cues = parse_cues(out.getvalue().encode(), "text/vtt")
    assert [(c.start, c.end, c.text) for c in cues] == CUES


def test_ttml_cues_with_line_breaks() -> None:
    ttml = """<?xml version="1.0" encoding="UTF-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xml:lang="de"><body><div>
<p begin="00:00:01.000" end="00:00:03.200">Vierzig<br/>Jahre</p>
<p begin="3.6s" end="5.4s"><span>Nicht heute Nacht.</span></p>
</div></body></tt>"""
    cues = parse_cues(ttml.encode(), "application/ttml+xml")
    assert [(c.start, c.end, c.text) for c in cues] == [(1.0, 3.2, "Vierzig\nJahre"), (3.6, 5.4, "Nicht heute Nacht.")]


def test_a_storyboard_frame_shows_its_shots_layout_sketch_and_a_prompt_frame_none() -> None:
    import xml.etree.ElementTree as ET

    from helix.events import AssetGenerated
    from helix.events.examples import example
    from helix.story import Blocking, Camera, Placement, Shot, ShotType

    shot = Shot(shot_id="s1-shot1", shot_type=ShotType.MEDIUM, camera=Camera.STATIC, subjects=["MARA", "TOM"], action="argue",
                location="quay", duration_s=2, blocking=Blocking(placements=[Placement(character="TOM", x=0.3), Placement(character="MARA", x=0.7)]))
    frame = example(AssetGenerated, kind="frame", inputs={"prompt": "p", "shot": shot.model_dump(mode="json")})
    panel = layout_panel(frame)
    assert panel is not None
    root = ET.fromstring(panel)  # SVG an XML parser reads; the console shows it in an <img>
    assert [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")] == ["TOM", "MARA"], "left to right as blocked"
    assert layout_panel(example(AssetGenerated, kind="frame", inputs={"prompt": "a lighthouse"})) is None
    assert layout_panel(example(AssetGenerated, kind="frame", inputs={"shot": {"shot_id": "broken"}})) is None, "an old record: no panel"
