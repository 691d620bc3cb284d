"""The script repository: where a script's parts live and how they are stored.

Reads go through the kit's `Documents` (typed, cached, store outages waited out); writes go
through the job (`Job.store`: signed where media, lineage, announced to review). A part is
`{level, script_id, content, …}` (`helix.documents.LevelDocument`), one asset per part
(`script-<job>-<part>`), every change a new version.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from helix.assets import StoredAsset
from helix.documents import LevelDocument, ScriptDocument, part_document
from helix.events import Authorship, ModelRef
from helix.generation import GeneratedAsset, Job, JobRefused, total_cost
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix.generation.reader import Documents, Read
from helix_writer import prompts
from helix_writer.draft import Draft, draft_of
from helix_writer.structured import Generated

JSON = "application/json"


class ScriptRepository:
    def __init__(self, documents: Documents, model_ref: ModelRef) -> None:
        self.documents = documents
        self.model_ref = model_ref

    # --- reading ------------------------------------------------------------------------------

    async def draft(self, production_id: str, script_id: str) -> Draft:
        """The latest state of a script (its newest assembled version)."""
        read = await self.documents.latest(production_id, ScriptAssetId(script_id, ScriptPart.SCRIPT), ScriptDocument)
        if read is None:
            raise JobRefused(f"no script {script_id} in production {production_id}")
        return draft_of(read.document.content, script_id)

    async def approved_draft(self, production_id: str, script_id: str) -> Draft:
        """The script as a person approved it: what storyboards are drawn from."""
        read = await self.documents.approved(production_id, ScriptAssetId(script_id, ScriptPart.SCRIPT), ScriptDocument, what="script")
        return draft_of(read.document.content, script_id)

    async def latest(self, production_id: str, part: ScriptAssetId) -> LevelDocument[Any] | None:
        model = part_document(part)
        if model is None:
            raise ValueError(f"{part} is not a JSON part")
        read = await self.documents.latest(production_id, part, model)
        return read.document if read is not None else None

    async def version(self, production_id: str, part: ScriptAssetId, version: int | None) -> Read[LevelDocument[Any]]:
        """One version of a part (None: the one before the newest), for reverting to it."""
        versions = await self.documents.versions(production_id, part)
        if not versions or (version is None and len(versions) < 2):
            raise JobRefused(f"{part} has no earlier version to go back to")
        chosen = version or versions[-2].key.version
        if chosen not in {v.key.version for v in versions}:
            raise JobRefused(f"{part} has no version {chosen}")
        model = part_document(part)
        assert model is not None
        return await self.documents.version(production_id, part, chosen, model)

    # --- resuming and storing -------------------------------------------------------------------

    async def resumed(self, job: Job[Any], draft: Draft, name: str) -> LevelDocument[Any] | None:
        """The document of a part this job stored before (a retry or redelivery), else None."""
        part = draft.part(name)
        found = await job.resumed(part.kind, str(part))
        if found is None:
            return None
        draft.assets[name] = str(part)
        model = part_document(part)
        assert model is not None
        return model.model_validate_json(found[1])

    async def store_human(self, job: Job[Any], draft: Draft, name: str, content: Any) -> None:
        """A person's version of a part, verbatim, with its diff from the version before."""
        part = draft.part(name)
        model = part_document(part)
        previous = await self.documents.latest(draft.production_id, part, model) if model is not None else None
        new_text = json.dumps(content, indent=2, ensure_ascii=False)
        old = json.loads(previous.data)["content"] if previous is not None else None  # as it was stored, not as the model re-dumps it
        old_text = json.dumps(old, indent=2, ensure_ascii=False)
        diff = "".join(difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True), "previous", "rewritten"))
        await self.store_level(job, draft, name, content, [], parents=[], authorship=Authorship.HUMAN, diff=diff)

    async def store_level(self, job: Job[Any], draft: Draft, name: str, content: Any, messages: prompts.Messages,
                          *generations: Generated[Any], parents: list[str], authorship: Authorship = Authorship.AI,
                          diff: str | None = None, extra: dict[str, Any] | None = None) -> StoredAsset:
        body = json.dumps({"level": name, "script_id": draft.script_id, "content": content, **(extra or {})}, indent=2,
                          ensure_ascii=False).encode()
        return await self.store_part(job, draft, name, body, JSON, "json", messages, parents, *generations, authorship=authorship,
                                     diff=diff)

    async def store_part(self, job: Job[Any], draft: Draft, name: str, body: bytes, media_type: str, ext: str, messages: prompts.Messages,
                         parents: list[str], *generations: Generated[Any], authorship: Authorship = Authorship.AI,
                         diff: str | None = None) -> StoredAsset:
        from helix.events import ScriptPartSummary

        part = draft.part(name)
        parent_ids = [draft.assets.get(p, p) for p in parents if p in draft.assets or ScriptAssetId.parse(p)]
        parameters: dict[str, Any] = {"level": name, **(generations[0].parameters if generations else {})}
        if len(generations) > 1:
            parameters["generations"] = len(generations)
        stored = await job.store(GeneratedAsset(
            kind=part.kind, asset_id=str(part), data=body, media_type=media_type, ext=ext,
            model=self.model_ref if authorship is not Authorship.HUMAN else None,
            inputs={"messages": messages} if messages else {"assembled_from": parent_ids}, parameters=parameters,
            seed=job.request.seed, parents=parent_ids, authorship=authorship, cost=total_cost([g.cost for g in generations]),
            summary=ScriptPartSummary(part=part.name, level=part.level), extra={"diff_from_previous": diff}))
        draft.assets[name] = str(part)
        return stored

