"""Attribution: which parts of each asset a person wrote or changed and which a model
generated, and the credits report of a production built from it.

Scripts carry an author on every element (title, each character, scene, place and
dialogue line; a line a person chose among model candidates records who chose it); the
translations under subtitles carry one per line, so per cue. Other assets are attributed
whole, by their `authorship`. A person's parts are credited to whoever asked for that
version (an edit is a request a person makes); reviewers are credited with their decisions.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, Field

from helix_gateway.readmodel.tables import Asset, Job

SCRIPT_LEVELS = ("title", "characters", "scenes", "places")


class LineAttribution(BaseModel):
    line_id: str
    part: str
    author: str = Field(description="ai or human")
    selected_by: str | None = Field(None, description="A person who chose this model-written line among candidates")


class PartAttribution(BaseModel):
    part: str = Field(description="title, characters, scenes, places, dialogue-s1, lines …")
    ai: int = 0
    human: int = 0


class AssetAttribution(BaseModel):
    asset_id: str
    version: int
    kind: str
    review_status: str
    authorship: str = Field(description="ai, human or mixed, as the generator recorded it")
    model: str | None = None
    model_revision: str | None = None
    requested_by: str | None = None
    reviewed_by: str | None = None
    parts: list[PartAttribution] = Field(default_factory=list)
    lines: list[LineAttribution] = Field(default_factory=list, description="Per dialogue line (scripts) or per cue (subtitles)")


class PersonCredit(BaseModel):
    person: str
    human_parts: int = Field(0, description="Elements and lines they wrote or changed")
    selected_lines: int = Field(0, description="Model-written lines they chose among candidates")
    requested: int = 0
    reviewed: int = 0


class ModelCredit(BaseModel):
    model: str
    revision: str | None = None
    assets: int = 0
    ai_parts: int = 0


class Credits(BaseModel):
    production_id: str
    title: str
    people: list[PersonCredit]
    models: list[ModelCredit]
    assets: list[AssetAttribution]
    not_approved: int = Field(description="Assets with no approved version yet (not credited)")


def attribute(asset: Asset, body: bytes | None) -> AssetAttribution:
    """One asset version's attribution; `body` is its stored bytes (JSON assets are read per part)."""
    data = (asset.event or {}).get("data", {})
    model = data.get("model") or {}
    found = AssetAttribution(
        asset_id=asset.asset_id, version=asset.version, kind=asset.kind, review_status=asset.review_status,
        authorship=data.get("authorship", "ai"), model=model.get("id"), model_revision=model.get("revision"),
        requested_by=(data.get("requested_by") or {}).get("subject"), reviewed_by=asset.decided_by,
    )
    document = _json(body) if body is not None and (asset.media_type or "").endswith("json") else None
    if isinstance(document, dict):
        level = str((data.get("parameters") or {}).get("level") or asset.kind)
        _parts(found, document, level)
    if not found.parts:  # attributed whole
        found.parts = [PartAttribution(part=asset.kind, ai=int(found.authorship != "human"), human=int(found.authorship == "human"))]
    return found


def _parts(found: AssetAttribution, document: dict[str, Any], level: str) -> None:
    content = document.get("content", document)
    if isinstance(content, dict) and "scenes" in content and "characters" in content:  # an assembled script
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        counts["title"][content.get("title_author", "ai")] += 1
        for name in ("characters", "places", "acts"):
            for element in content.get(name) or []:
                counts[name][element.get("author", "ai")] += 1
        for scene in content.get("scenes") or []:
            counts["scenes"][scene.get("author", "ai")] += 1
            _lines(found, counts, f"dialogue-{scene.get('scene_id', '?')}", scene.get("dialogue") or [])
        found.parts = [PartAttribution(part=p, ai=c["ai"], human=c["human"]) for p, c in counts.items() if c]
    elif isinstance(content, list) and all(isinstance(e, dict) and "author" in e for e in content) and content:
        counts = defaultdict(Counter)
        if all("line_id" in e for e in content):
            _lines(found, counts, level, content)
        else:
            for element in content:
                counts[level][element["author"]] += 1
        found.parts = [PartAttribution(part=p, ai=c["ai"], human=c["human"]) for p, c in counts.items() if c]
    elif isinstance(document.get("lines"), list) and all(isinstance(e, dict) and "author" in e for e in document["lines"]):
        counts = defaultdict(Counter)
        _lines(found, counts, "cues", document["lines"])  # a translation: one line per subtitle cue
        found.parts = [PartAttribution(part=p, ai=c["ai"], human=c["human"]) for p, c in counts.items() if c]


def _lines(found: AssetAttribution, counts: dict[str, Counter[str]], part: str, lines: list[dict[str, Any]]) -> None:
    for line in lines:
        author = line.get("author", "ai")
        counts[part][author] += 1
        found.lines.append(LineAttribution(line_id=str(line.get("line_id", "")), part=part, author=author,
                                           selected_by=line.get("selected_by")))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def build_credits(production_id: str, title: str, rows: Iterable[tuple[Asset, Job | None]], read: Callable[[str], bytes]) -> Credits:
    """Credits from the newest approved version of each asset."""
    approved: dict[str, Asset] = {}
    seen: set[str] = set()
    for asset, _job in rows:
        seen.add(asset.asset_id)
        if asset.review_status == "approved" and (asset.asset_id not in approved or asset.version > approved[asset.asset_id].version):
            approved[asset.asset_id] = asset
    assets = [attribute(a, read(a.object_key) if (a.media_type or "").endswith("json") and a.object_key else None)
              for a in sorted(approved.values(), key=lambda a: (a.kind, a.asset_id))]
    people: dict[str, PersonCredit] = {}
    models: dict[tuple[str, str | None], ModelCredit] = {}

    def person(name: str) -> PersonCredit:
        return people.setdefault(name, PersonCredit(person=name))

    for found in assets:
        if found.requested_by:
            person(found.requested_by).requested += 1
            person(found.requested_by).human_parts += sum(p.human for p in found.parts)
        if found.reviewed_by:
            person(found.reviewed_by).reviewed += 1
        for line in found.lines:
            if line.selected_by:
                person(line.selected_by).selected_lines += 1
        if found.model:
            credit = models.setdefault((found.model, found.model_revision), ModelCredit(model=found.model, revision=found.model_revision))
            credit.assets += 1
            credit.ai_parts += sum(p.ai for p in found.parts)
    return Credits(production_id=production_id, title=title, people=sorted(people.values(), key=lambda p: p.person),
                   models=sorted(models.values(), key=lambda m: m.model), assets=assets, not_approved=len(seen - approved.keys()))


def credits_markdown(credits: Credits) -> str:
    """The credits report as Markdown: people, models, then every credited asset's parts."""
    out = [f"# Credits: {credits.title}", "", f"Production `{credits.production_id}`. Only approved work is credited"
           f" ({len(credits.assets)} assets; {credits.not_approved} not approved yet).", "", "## People", ""]
    out += ["| Person | Wrote or changed | Chose among candidates | Requested | Reviewed |", "|---|---:|---:|---:|---:|"]
    out += [f"| {_cell(p.person)} | {p.human_parts} | {p.selected_lines} | {p.requested} | {p.reviewed} |" for p in credits.people]
    out += ["", "## Models", "", "| Model | Revision | Assets | Parts generated |", "|---|---|---:|---:|"]
    out += [f"| {_cell(m.model)} | {_cell(m.revision or '')} | {m.assets} | {m.ai_parts} |" for m in credits.models]
    out += ["", "## Assets", "", "| Asset | Kind | Authorship | Part | By a person | By a model |", "|---|---|---|---|---:|---:|"]
    for a in credits.assets:
        for part in a.parts:
            out.append(f"| {_cell(a.asset_id)} v{a.version} | {a.kind} | {a.authorship} | {_cell(part.part)} | {part.human} | {part.ai} |")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
