"""Attribution per level, per line and per cue, and the credits report built from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from helix.events import AssetGenerated, new_event
from helix.events.examples import example
from helix_gateway.credits import attribute, build_credits, credits_markdown
from helix_gateway.readmodel.tables import Asset

T0 = datetime(2026, 11, 25, tzinfo=UTC)


def row(asset_id: str, kind: str, *, status: str = "approved", authorship: str = "ai", requested_by: str = "dora",
        media_type: str = "application/json", version: int = 1, level: str | None = None) -> Asset:
    data = example(AssetGenerated, production_id="p", asset_id=asset_id, kind=kind, version=version, media_type=media_type,
                   authorship=authorship, model={"id": "helix/tiny-llama", "revision": "r1"} if authorship != "human" else None,
                   requested_by={"subject": requested_by}, parameters={"level": level} if level else {})
    return Asset(asset_id=asset_id, version=version, production_id="p", kind=kind, object_key=f"{asset_id}/{version}", media_type=media_type,
                 review_status=status, decided_by="rhea" if status != "pending" else None, created_at=T0,
                 event=new_event(data, source="/tests").model_dump(mode="json"))


SCRIPT = {"level": "script", "script_id": "script-x", "content": {
    "production_id": "p", "logline": "l", "title": "The Last Light", "title_author": "human",
    "characters": [{"name": "MARA", "description": "keeper", "author": "ai"}, {"name": "TOM", "description": "son", "author": "human"}],
    "places": [{"name": "LAMP ROOM", "description": "top", "author": "ai"}],
    "scenes": [{"scene_id": "s1", "place": "LAMP ROOM", "plot_element": "climax", "beat": "b", "author": "ai", "dialogue": [
        {"line_id": "s1-l1", "speaker": "MARA", "text": "Hold it.", "author": "ai"},
        {"line_id": "s1-l2", "speaker": "TOM", "text": "Now.", "author": "human"},
        {"line_id": "s1-l3", "speaker": "MARA", "text": "Then go.", "author": "ai", "selected_by": "dora"}]}],
}}


def test_a_script_is_attributed_per_level_and_per_line() -> None:
    found = attribute(row("script-x-script", "script", authorship="mixed"), json.dumps(SCRIPT).encode())
    parts = {p.part: (p.human, p.ai) for p in found.parts}
    assert parts["title"] == (1, 0)
    assert parts["characters"] == (1, 1)
    assert parts["places"] == (0, 1)
    assert parts["scenes"] == (0, 1)
    assert parts["dialogue-s1"] == (1, 2)
    assert [(line.line_id, line.author, line.selected_by) for line in found.lines] == [
        ("s1-l1", "ai", None), ("s1-l2", "human", None), ("s1-l3", "ai", "dora")]


def test_translations_are_attributed_per_cue_and_media_whole() -> None:
    line = {"scene_id": "s1", "speaker": "MARA", "source": "Hold it.", "adapted": "Hold it.", "target": "Halt es."}
    translation = {"locale": "de-DE", "source_locale": "en", "script": "script-x-script", "profile": {"locale": "de-DE"},
                   "timeline": {"source": "synthesized", "asset_id": "loc-en-timeline-x"},
                   "lines": [{**line, "line_id": "s1-l1", "author": "ai"}, {**line, "line_id": "s1-l2", "author": "human"}]}
    found = attribute(row("loc-de-DE-translation-x", "script"), json.dumps(translation).encode())
    assert [(p.part, p.human, p.ai) for p in found.parts] == [("cues", 1, 1)]
    image = attribute(row("frame-1", "frame", media_type="image/png"), None)
    assert [(p.part, p.human, p.ai) for p in image.parts] == [("frame", 0, 1)]
    human = attribute(row("notes-1", "script", authorship="human", media_type="text/plain"), b"hello")
    not_a_document = attribute(row("script-x-script", "script"), b'{"title": "not a script document"}')
    assert [(p.part, p.ai) for p in not_a_document.parts] == [("script", 1)], "a body that is not its document is attributed whole"
    assert [(p.human, p.ai) for p in human.parts] == [(1, 0)] and human.model is None


def test_credits_count_only_the_newest_approved_version_and_render_markdown() -> None:
    rows = [
        (row("script-x-script", "script", authorship="mixed", version=1), None),
        (row("script-x-script", "script", authorship="mixed", version=2), None),
        (row("frame-1", "frame", media_type="image/png", requested_by="sam"), None),
        (row("frame-2", "frame", media_type="image/png", status="pending"), None),
    ]
    bodies = {"script-x-script/1": json.dumps({"content": {**SCRIPT["content"], "title_author": "ai"}}).encode(),
              "script-x-script/2": json.dumps(SCRIPT).encode()}
    credits = build_credits("p", "The Lighthouse", rows, lambda key: bodies[key])
    assert [(a.asset_id, a.version) for a in credits.assets] == [("frame-1", 1), ("script-x-script", 2)]
    assert credits.not_approved == 1
    people = {p.person: p for p in credits.people}
    assert people["dora"].human_parts == 1 + 1 + 1  # title, a character, a line (version 2)
    assert people["dora"].selected_lines == 1
    assert people["rhea"].reviewed == 2
    assert people["sam"].requested == 1
    assert {m.model for m in credits.models} == {"helix/tiny-llama"}
    text = credits_markdown(credits)
    assert text.startswith("# Credits: The Lighthouse")
    assert "| dora | 3 | 1 | 1 | 0 |" in text
    assert "| script-x-script v2 | script | mixed | dialogue-s1 | 1 | 2 |" in text
