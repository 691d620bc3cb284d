"""Steps built on a written script: a storyboard (shot list) per scene, and dialogue-line
candidates for a person to choose from (tone, length, market)."""

from __future__ import annotations

from typing import Any

from helix.events import DialogueRewriteRequested, StoryboardRequested
from helix.generation import Job, JobRefused
from helix.generation.ids import ScriptAssetId, ScriptPart, scene_part, shot_id
from helix.story import DialogueLine, DialogueRewrite, LineCandidates, LineDraft, SceneScript, Shot, Storyboard, StoryboardDraft
from helix_writer import prompts
from helix_writer.draft import Draft
from helix_writer.levels import StoryWriter
from helix_writer.structured import Generated


async def storyboard(writer: StoryWriter, job: Job[Any], req: StoryboardRequested, draft: Draft) -> list[str]:
    """A shot list per scene (all scenes, or those asked for), generated concurrently."""
    scenes = [s for s in draft.scenes if not req.scene_ids or s.scene_id in req.scene_ids]
    if not scenes:
        raise JobRefused(f"none of the scenes {req.scene_ids} is in {draft.script_id}")

    async def board(scene: SceneScript) -> str:
        name = scene_part(ScriptPart.STORYBOARD, scene.scene_id)
        if await writer.repository.resumed(job, draft, name) is not None:
            return draft.assets[name]
        messages = prompts.storyboard(writer.sys(draft, req.notes), draft.characters, scene)
        out = await writer.generate(messages, StoryboardDraft, seed=req.seed)
        shots = [Shot(shot_id=shot_id(scene.scene_id, n), location=scene.place, **shot.model_dump())
                 for n, shot in enumerate(out.value.shots, start=1)]
        content = Storyboard(production_id=draft.production_id, script_id=draft.script_id, scene_id=scene.scene_id, shots=shots)
        await writer.repository.store_level(job, draft, name, content.model_dump(mode="json"), messages, out,
                                 parents=[ScriptPart.SCRIPT, scene_part(ScriptPart.DIALOGUE, scene.scene_id)])
        return draft.assets[name]

    return await job.gather(*(board(scene) for scene in scenes))


async def dialogue_candidates(writer: StoryWriter, job: Job[Any], req: DialogueRewriteRequested, draft: Draft) -> str:
    """Candidates for some lines of a scene, for tone, length or market."""
    target = ScriptAssetId.parse(req.dialogue_asset_id)
    if target is None or target.script_id != draft.script_id or target.part is not ScriptPart.DIALOGUE or target.rewrite_job:
        raise JobRefused(f"{req.dialogue_asset_id} is not a dialogue asset of {draft.script_id}")
    scene = next((s for s in draft.scenes if s.scene_id == target.scene), None)
    if scene is None:
        raise JobRefused(f"{req.dialogue_asset_id} is not a dialogue asset of {draft.script_id}")
    name = ScriptAssetId(draft.script_id, ScriptPart.DIALOGUE, scene.scene_id, rewrite_job=req.job_id).name
    if await writer.repository.resumed(job, draft, name) is not None:
        return draft.assets[name]
    lines = [line for line in scene.dialogue if not req.line_ids or line.line_id in req.line_ids]
    goal = {k: v for k, v in {"tone": req.tone, "target_syllables": req.target_syllables, "target_seconds": req.target_seconds,
                               "market": req.market}.items() if v is not None}
    wants = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in goal.items()) or "make it better"

    async def candidate(line: DialogueLine, n: int) -> Generated[LineDraft]:
        seed = None if req.seed is None else req.seed + n
        return await writer.generate(prompts.line_candidate(writer.sys(draft, req.notes), scene, line, wants, n), LineDraft, seed=seed)

    rewritten, generations = [], []
    for line in lines:  # candidates of a line are generated together: one batch
        outs = await job.gather(*(candidate(line, n) for n in range(1, req.candidates + 1)))
        generations += outs
        rewritten.append(LineCandidates(line_id=line.line_id, speaker=line.speaker, original=line.text,
                                        candidates=[o.value.text for o in outs]))
    content = DialogueRewrite(dialogue_asset_id=req.dialogue_asset_id, goal=goal, lines=rewritten)
    await writer.repository.store_level(job, draft, name, content.model_dump(mode="json"), [], *generations, parents=[scene_part(ScriptPart.DIALOGUE, scene.scene_id)])
    return draft.assets[name]
