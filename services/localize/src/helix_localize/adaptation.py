"""A shorter adaptation of a line that does not fit its slot, from the writer: a
length-targeted dialogue rewrite (`helix.writer.dialogue.rewrite.requested`) for the
locale's market, asked through the bus; the candidates come back as the writer's asset.

The rewrite's job id comes from the localization job, locale and line, so a resumed job
finds the candidates it asked for instead of asking again.
"""

from __future__ import annotations

import asyncio
import json
import time

import structlog

from helix.assets import AssetNotFound, AssetStore
from helix.events import DialogueRewriteRequested
from helix.generation import Job, derived_event_id
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix_localize.fitting import Line

log = structlog.get_logger("helix.localize.adaptation")


class WriterShortener:
    def __init__(self, job: Job, store: AssetStore, script_id: str, locale: str, scenes: dict[str, str], *, timeout_s: float,
                 poll_s: float = 0.5) -> None:
        self.job = job
        self.store = store
        self.script_id = script_id
        self.locale = locale
        self.scenes = scenes  # line id -> scene id
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.asked: list[str] = []

    async def __call__(self, line: Line, seconds: float) -> str | None:
        scene = self.scenes[line.line_id]
        rewrite_job = f"{self.job.job_id}-fit-{self.locale}-{line.line_id}"
        target = ScriptAssetId(self.script_id, ScriptPart.DIALOGUE, scene, rewrite_job=rewrite_job)
        candidates = await asyncio.to_thread(self._candidates, str(target))
        if candidates is None:
            request = DialogueRewriteRequested(
                production_id=self.job.production_id, job_id=rewrite_job[:128], requested_by=self.job.request.requested_by,
                dialogue_asset_id=str(ScriptAssetId(self.script_id, ScriptPart.DIALOGUE, scene)), line_ids=[line.line_id],
                target_seconds=round(max(seconds, 0.1), 2), market=self.locale, candidates=3,
                notes=f"Shorter, to be spoken in {seconds:.1f}s in {self.locale}: {line.text}"[:2000])
            await self.job.kit.publish(request, event_id=derived_event_id("shorten", rewrite_job))
            self.asked.append(line.line_id)
            log.info("localize.shorter_line_asked", line_id=line.line_id, seconds=round(seconds, 2), locale=self.locale)
            deadline = time.monotonic() + self.timeout_s
            while candidates is None and time.monotonic() < deadline:
                await asyncio.sleep(self.poll_s)
                candidates = await asyncio.to_thread(self._candidates, str(target))
        if not candidates:
            return None
        return min(candidates, key=len)

    def _candidates(self, asset_id: str) -> list[str] | None:
        try:
            versions = self.store.versions(self.job.production_id, ScriptPart.DIALOGUE.value, asset_id)
        except AssetNotFound:
            return None
        if not versions:
            return None
        content = json.loads(self.store.get(versions[-1].key))["content"]
        return [c for line in content.get("lines", []) for c in line.get("candidates", []) if c.strip()]
