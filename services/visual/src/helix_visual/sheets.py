"""Reference sheets: the cast a production's frames keep. From the approved script, each
character's views (front, three-quarter, profile, expressions) and each place's establishing
view, every view an image asset with its `ReferenceSummary` (whose, which view), reviewed like
any other. All views of one subject start from the same noise, so the sheet shows one person.
Approved, a character's newest front view is what frames condition on (`cast.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from helix.documents import ScriptDocument
from helix.events import ReferenceSheetRequested, ReferenceSummary, ReferenceView
from helix.generation import Job, JobRefused
from helix.generation.ids import ImageAssetId, ImageFamily, ScriptAssetId, ScriptPart, reference_item
from helix.generation.reader import Read
from helix.story import Character, Place
from helix_visual import prompts
from helix_visual.engine import ImageSpec
from helix_visual.rendering import Renderer


async def render_sheets(renderer: Renderer, job: Job[ReferenceSheetRequested]) -> list[str]:
    req = job.request
    model, _ = renderer.pipeline(req.model)
    script = await approved_subjects(renderer, req.production_id, req.script_asset_id, characters=req.characters, places=req.places)
    read, characters, places = script.read, script.characters, script.places
    wanted_characters = req.characters or ([] if req.places else list(characters))
    wanted_places = req.places or ([] if req.characters else list(places))
    character_views = [v for v in req.views if v is not ReferenceView.ESTABLISHING]
    if wanted_characters and not character_views:
        raise JobRefused("a character's sheet needs a character view (front, three_quarter, profile, expressions)")
    views: list[tuple[ImageAssetId, str, int, ReferenceSummary]] = []
    base = req.seed if req.seed is not None else req.production_id
    for number, name in ((script.number("character", n), n) for n in wanted_characters):
        description = characters[name].description
        for view in character_views:
            views.append(_view(req, "character", number, name, view,
                               prompts.character_view_prompt(name, description, view.value, extra=req.prompt or None, style=req.style),
                               prompts.stable_seed(base, "character", name)))
    for number, name in ((script.number("place", n), n) for n in wanted_places):
        views.append(_view(req, "place", number, name, ReferenceView.ESTABLISHING,
                           prompts.place_view_prompt(name, places[name].description, extra=req.prompt or None, style=req.style),
                           prompts.stable_seed(base, "place", name)))
    if not views:
        raise JobRefused(f"the approved script {req.script_asset_id} has no characters or places to draw")

    async def draw(n: int, asset: ImageAssetId, prompt: str, seed: int, summary: ReferenceSummary) -> str:
        spec = ImageSpec(model=model, prompt=prompt, negative_prompt=req.negative_prompt, width=req.width, height=req.height,
                         steps=req.steps, guidance_scale=req.guidance_scale, seed=seed)
        inputs = {"prompt": prompt, "subject": summary.subject, "subject_kind": summary.subject_kind, "view": summary.view.value,
                  "script_version": read.version, **({"negative_prompt": req.negative_prompt} if req.negative_prompt else {})}
        return await renderer.image_asset(job, asset, spec, inputs=inputs, parents=[req.script_asset_id, *req.parent_asset_ids],
                                          position=(n, len(views)), summary=summary)

    return await job.gather(*(draw(n, *v) for n, v in enumerate(views)))


@dataclass(frozen=True)
class ScriptSubjects:
    """An approved script's characters and places, by name, in the script's order (a subject's
    number in a reference asset id is its place in this order)."""

    read: Read[ScriptDocument]
    characters: dict[str, Character]
    places: dict[str, Place]

    def number(self, kind: Literal["character", "place"], name: str) -> int:
        return list(self.characters if kind == "character" else self.places).index(name) + 1


async def approved_subjects(renderer: Renderer, production_id: str, script_asset_id: str, *, characters: Iterable[str] = (),
                            places: Iterable[str] = ()) -> ScriptSubjects:
    """The approved script's subjects; `JobRefused` naming any of `characters` or `places` it lacks."""
    part = ScriptAssetId.parse(script_asset_id)
    if part is None or part.part is not ScriptPart.SCRIPT:
        raise JobRefused(f"{script_asset_id} is not an assembled script (script-<job>-script)")
    read = await renderer.documents.approved(production_id, part, ScriptDocument, what="script")
    script = read.document.content
    found = ScriptSubjects(read, {c.name: c for c in script.characters}, {p.name: p for p in script.places})
    unknown = [n for n in characters if n not in found.characters] + [n for n in places if n not in found.places]
    if unknown:
        raise JobRefused(f"{', '.join(unknown)} not in the approved script {script_asset_id} (characters: "
                         f"{', '.join(found.characters) or 'none'}; places: {', '.join(found.places) or 'none'})")
    return found


def _view(req: ReferenceSheetRequested, kind: Literal["character", "place"], number: int, name: str, view: ReferenceView, prompt: str,
          seed: int) -> tuple[ImageAssetId, str, int, ReferenceSummary]:
    asset = ImageAssetId(ImageFamily.REFERENCE, req.job_id, reference_item(kind, number, view.value))
    return asset, prompt, seed, ReferenceSummary(subject=name, subject_kind=kind, view=view)
