"""What the review console shows for one item, by asset kind.

- images (frames, scenes): the picture; textures also tiled 3×3 to show their seams;
  a frame comes with the other frames of its storyboard scene, on one sheet;
- text (script levels, dialogue, storyboards, Fountain): a readable rendering that marks
  what a person wrote, and a line diff against the version it replaces;
- subtitles: the cues as a timing table (SubRip, WebVTT or TTML), with the QC findings;
- audio: a player, the listening QC's flagged lines (each plays its own segment) and the timing report;
and for every kind the lineage (model, seed, prompt, parents), the provenance findings
and the attribution. Revisions name the version they replace, for side-by-side views.
"""

from __future__ import annotations

import difflib
import io
import json
import xml.etree.ElementTree as ET
from typing import Any, Literal

import srt
import webvtt
from pydantic import BaseModel, Field, ValidationError

from helix.events import AssetGenerated, AssetKind, AssetSummary
from helix.layout import layout, svg
from helix.story import Shot
from helix_gateway.credits import AssetAttribution

View = Literal["image", "texture", "text", "subtitles", "audio", "video", "binary"]
HUMAN_MARK = "✎ "  # lines a person wrote or changed


class Cue(BaseModel):
    index: int
    start: float
    end: float
    text: str
    chars_per_second: float


class SheetFrame(BaseModel):
    asset_id: str
    version: int
    review_status: str
    content_url: str
    current: bool = False


class ConsoleItem(BaseModel):
    item: Any = Field(description="The review item (as GET /reviews/items/{item_id})")
    view: View
    content_url: str
    previous_version: int | None = Field(None, description="The version this one replaces, if any")
    previous_url: str | None = None
    text: str | None = None
    diff: str | None = Field(None, description="Unified diff against the previous version's text")
    cues: list[Cue] | None = None
    timing: dict[str, Any] | None = None
    subtitles_url: str | None = Field(None, description="A video's WebVTT subtitles, for the player's text track")
    sheet: list[SheetFrame] = Field(default_factory=list, description="A frame's storyboard scene: every frame, each its own decision")
    layout_svg: str | None = Field(None, description="A storyboard frame's shot as a layout sketch (SVG: who stands where), beside the frame")
    attribution: AssetAttribution | None = None
    lineage: dict[str, Any] = Field(default_factory=dict)
    summary: AssetSummary | None = Field(None, description="What the generator measured, typed per kind (a dub's changed lines, QC)")
    provenance: list[dict[str, Any]] = Field(default_factory=list, description="Content Credentials findings")


def layout_panel(generated: AssetGenerated, width: int = 320, height: int = 180) -> str | None:
    """The layout sketch of the shot a frame draws (its recorded `shot` input); None for a frame
    drawn from a prompt alone, or one whose recorded shot is not a shot."""
    recorded = generated.inputs.get("shot")
    if not isinstance(recorded, dict):
        return None
    try:
        shot = Shot.model_validate(recorded)
    except ValidationError:
        return None
    return svg(layout(shot), width, height)


def view_of(kind: str, media_type: str) -> View:
    if kind == AssetKind.TEXTURE:
        return "texture"
    if media_type.startswith("image/"):
        return "image"
    if media_type.startswith("audio/"):
        return "audio"
    if media_type.startswith("video/"):
        return "video"
    if kind == AssetKind.SUBTITLES and not media_type.endswith("json"):
        return "subtitles"
    if media_type.endswith("json") or media_type.startswith("text/"):
        return "text"
    return "binary"


def content_url(asset_id: str, version: int) -> str:
    return f"/assets/{asset_id}/content?version={version}"


# --- text -------------------------------------------------------------------------------


def render_text(body: bytes, media_type: str) -> str:
    """A readable rendering of a text asset; a person's parts are marked with ✎."""
    if not media_type.endswith("json"):
        return body.decode("utf-8", errors="replace")
    try:
        document = json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")
    content = document.get("content", document) if isinstance(document, dict) else document
    lines = _render(content)
    return "\n".join(lines) if lines else json.dumps(document, ensure_ascii=False, indent=1)


def _mark(element: dict[str, Any], author_key: str = "author") -> str:
    return HUMAN_MARK if element.get(author_key) == "human" or element.get("selected_by") else ""


def _render(content: Any) -> list[str]:
    out: list[str] = []
    if isinstance(content, dict) and "scenes" in content and "characters" in content:  # an assembled script
        out.append(f"{_mark(content, 'title_author')}TITLE: {content.get('title', '')}")
        out += ["", "CHARACTERS"] + _render(content.get("characters") or [])
        out += ["", "PLACES"] + _render(content.get("places") or [])
        for scene in content.get("scenes") or []:
            out += ["", *_render([{k: v for k, v in scene.items() if k != "dialogue"}]), *_render(scene.get("dialogue") or [])]
        return out
    if isinstance(content, dict) and "shots" in content:  # a storyboard
        return [f"{s.get('shot_id')}: {s.get('shot_type')} / {s.get('camera')}, {s.get('duration_s')} s: {s.get('action')}"
                for s in content["shots"]]
    if isinstance(content, dict) and "title" in content:
        return [f"TITLE: {content['title']}"]
    if isinstance(content, list):
        for element in content:
            if not isinstance(element, dict):
                out.append(str(element))
            elif "speaker" in element and "text" in element:  # a dialogue line
                paren = f" ({element['parenthetical']})" if element.get("parenthetical") else ""
                chosen = f"  [chosen by {element['selected_by']}]" if element.get("selected_by") else ""
                out.append(f"{_mark(element)}{element.get('line_id', '')} {element['speaker']}{paren}: {element['text']}{chosen}")
            elif "beat" in element and "scene_id" in element:  # a scene of the outline
                out.append(f"{_mark(element)}{element['scene_id']} [act {element.get('act', 1)}, {element.get('plot_element', '')}]"
                           f" @ {element.get('place', '')}: {element['beat']}")
            elif "name" in element:  # a character or a place
                out.append(f"{_mark(element)}{element['name']}: {element.get('description', '')}")
            else:
                out.append(f"{_mark(element)}{json.dumps(element, ensure_ascii=False)}")
    return out


def text_diff(before: str, after: str, before_label: str, after_label: str) -> str:
    return "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(), before_label, after_label, lineterm=""))


# --- subtitles -----------------------------------------------------------------------------


def parse_cues(body: bytes, media_type: str) -> list[Cue]:
    """The cues of an SRT, WebVTT or TTML file, read with the formats' own parsers."""
    text = body.decode("utf-8-sig", errors="replace")
    raw: list[tuple[float, float, str]]
    if "subrip" in media_type:
        raw = [(c.start.total_seconds(), c.end.total_seconds(), c.content) for c in srt.parse(text)]
    elif "vtt" in media_type:
        raw = [(_clock(c.start), _clock(c.end), c.text) for c in webvtt.from_buffer(io.StringIO(text)).captions]
    else:
        raw = _ttml(text)
    return [Cue(index=i + 1, start=round(s, 3), end=round(e, 3), text=t,
                chars_per_second=round(len(t.replace("\n", "")) / (e - s), 1) if e > s else 0.0)
            for i, (s, e, t) in enumerate(raw)]


def _clock(value: str) -> float:
    parts = [float(p) for p in value.replace(",", ".").split(":")]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def _ttml(text: str) -> list[tuple[float, float, str]]:
    root = ET.fromstring(text)
    cues = []
    for p in root.iter():
        if p.tag.rsplit("}", 1)[-1] != "p" or "begin" not in p.attrib:
            continue
        words = [p.text or ""]
        for node in p.iter():
            if node is p:
                continue
            words += ["\n" if node.tag.rsplit("}", 1)[-1] == "br" else "", node.text or "", node.tail or ""]
        cues.append((_ttml_time(p.attrib["begin"]), _ttml_time(p.attrib["end"]), "".join(words).strip()))
    return cues


def _ttml_time(value: str) -> float:
    if value.endswith("s") and ":" not in value:
        return float(value[:-1])
    return _clock(value)
