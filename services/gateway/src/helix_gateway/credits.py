"""Attribution: which parts of each asset a person wrote or changed and which a model
generated, and the credits report of a production built from it.

Scripts carry an author on every element (title, each character, scene, place and
dialogue line; a line a person chose among model candidates records who chose it); the
translations under subtitles carry one per line, so per cue. Other assets are attributed
whole, by their `authorship`. A person's parts are credited to whoever asked for that
version (an edit is a request a person makes); reviewers are credited with their decisions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, Field, ValidationError

from helix.documents import DialogueDocument, ScriptDocument, TranslatedLine, TranslationDocument, part_document
from helix.generation.ids import LocaleAssetId, LocalePart, ScriptAssetId, ScriptPart, parse_asset_id
from helix.story import DialogueLine, Script
from helix_gateway.readmodel.tables import Asset, Job


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
    """One asset version's attribution; `body` is its stored bytes (JSON documents are read per part)."""
    generated = asset.generated()
    found = AssetAttribution(
        asset_id=asset.asset_id, version=asset.version, kind=asset.kind, review_status=asset.review_status,
        authorship=generated.authorship.value if generated else "ai", model=generated.model.id if generated and generated.model else None,
        model_revision=generated.model.revision if generated and generated.model else None,
        requested_by=generated.requested_by.subject if generated and generated.requested_by else None, reviewed_by=asset.decided_by,
    )
    if body is not None and (asset.media_type or "").endswith("json"):
        _parts(found, asset.asset_id, body)
    if not found.parts:  # attributed whole
        found.parts = [PartAttribution(part=asset.kind, ai=int(found.authorship != "human"), human=int(found.authorship == "human"))]
    return found


def _parts(found: AssetAttribution, asset_id: str, body: bytes) -> None:
    """Per part, by what the asset is (its typed id), read through its document model."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    try:
        match parse_asset_id(asset_id):
            case ScriptAssetId(part=ScriptPart.SCRIPT):
                _script(found, counts, ScriptDocument.model_validate_json(body).content)
            case ScriptAssetId(rewrite_job=None, part=ScriptPart.DIALOGUE) as part:
                _lines(found, counts, part.name, DialogueDocument.model_validate_json(body).content)
            case ScriptAssetId(part=ScriptPart.CHARACTERS | ScriptPart.SCENES | ScriptPart.PLACES) as part:
                document = part_document(part)
                assert document is not None
                for element in document.model_validate_json(body).content:
                    counts[part.name][element.author] += 1
            case LocaleAssetId(part=LocalePart.TRANSLATION):
                _lines(found, counts, "cues", TranslationDocument.model_validate_json(body).lines)  # one line per subtitle cue
            case _:
                return
    except ValidationError:
        return  # not the document its id says: attributed whole
    found.parts = [PartAttribution(part=p, ai=c["ai"], human=c["human"]) for p, c in counts.items() if c]


def _script(found: AssetAttribution, counts: dict[str, Counter[str]], script: Script) -> None:
    counts["title"][script.title_author] += 1
    for name, elements in (("characters", script.characters), ("places", script.places), ("acts", script.acts)):
        for element in elements:
            counts[name][element.author] += 1
    for scene in script.scenes:
        counts["scenes"][scene.author] += 1
        _lines(found, counts, f"dialogue-{scene.scene_id}", scene.dialogue)


def _lines(found: AssetAttribution, counts: dict[str, Counter[str]], part: str, lines: Sequence[DialogueLine | TranslatedLine]) -> None:
    for line in lines:
        counts[part][line.author] += 1
        found.lines.append(LineAttribution(line_id=line.line_id, part=part, author=line.author,
                                           selected_by=line.selected_by if isinstance(line, DialogueLine) else None))


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
