"""Reference sheets: the cast a production's frames keep. From the approved script, each
character's views (front, three-quarter, profile, expressions) and each place's establishing
view, every view an image asset with its `ReferenceSummary` (whose, which view), reviewed like
any other. All views of one subject start from the same noise, so the sheet shows one person.
Approved, a character's newest front view is what frames condition on (`cast.py`)."""

from __future__ import annotations

from typing import Literal

from helix.documents import ScriptDocument
from helix.events import ReferenceSheetRequested, ReferenceSummary, ReferenceView
from helix.generation import Job, JobRefused
from helix.generation.ids import ImageAssetId, ImageFamily, ScriptAssetId, ScriptPart, reference_item
from helix_visual import prompts
from helix_visual.engine import ImageSpec
from helix_visual.rendering import Renderer


async def render_sheets(renderer: Renderer, job: Job[ReferenceSheetRequested]) -> list[str]:
    req = job.request
    model, _ = renderer.pipeline(req.model)
    part = ScriptAssetId.parse(req.script_asset_id)
    if part is None or part.part is not ScriptPart.SCRIPT:
        raise JobRefused(f"{req.script_asset_id} is not an assembled script (script-<job>-script)")
    read = await renderer.documents.approved(req.production_id, part, ScriptDocument, what="script")
    script = read.document.content
    characters = {c.name: c for c in script.characters}
    places = {p.name: p for p in script.places}
    unknown = [n for n in req.characters if n not in characters] + [n for n in req.places if n not in places]
    if unknown:
        raise JobRefused(f"{', '.join(unknown)} not in the approved script {req.script_asset_id} (characters: "
                         f"{', '.join(characters) or 'none'}; places: {', '.join(places) or 'none'})")
    wanted_characters = req.characters or ([] if req.places else list(characters))
    wanted_places = req.places or ([] if req.characters else list(places))
    character_views = [v for v in req.views if v is not ReferenceView.ESTABLISHING]
    if wanted_characters and not character_views:
        raise JobRefused("a character's sheet needs a character view (front, three_quarter, profile, expressions)")
    views: list[tuple[ImageAssetId, str, int, ReferenceSummary]] = []
    base = req.seed if req.seed is not None else req.production_id
    for number, name in ((list(characters).index(n) + 1, n) for n in wanted_characters):
        description = characters[name].description
        for view in character_views:
            views.append(_view(req, "character", number, name, view,
                               prompts.character_view_prompt(name, description, view.value, extra=req.prompt or None, style=req.style),
                               prompts.stable_seed(base, "character", name)))
    for number, name in ((list(places).index(n) + 1, n) for n in wanted_places):
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


def _view(req: ReferenceSheetRequested, kind: Literal["character", "place"], number: int, name: str, view: ReferenceView, prompt: str,
          seed: int) -> tuple[ImageAssetId, str, int, ReferenceSummary]:
    asset = ImageAssetId(ImageFamily.REFERENCE, req.job_id, reference_item(kind, number, view.value))
    return asset, prompt, seed, ReferenceSummary(subject=name, subject_kind=kind, view=view)
