"""`helix.generation.reader.Documents`: which threads a read runs on (reactions read on the
control path; the media a job reads, frames and audio tracks, go to the bulk pool, so a
reaction never queues behind them), and several approved documents read with one question to
the record of decisions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helix.documents import StoryboardDocument
from helix.events import Actor, AssetKind, ReviewApproved
from helix.generation.approvals import Approvals
from helix.generation.ids import ImageAssetId, ImageFamily, ScriptAssetId, ScriptPart
from helix.generation.reader import Documents, NotApproved
from helix.story import Storyboard
from helix.testing import MemoryStore


class NotingStore(MemoryStore):
    """Notes the thread each read of bytes runs on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def get(self, key: Any) -> bytes:
        self.threads.append(threading.current_thread().name)
        return super().get(key)


async def test_a_jobs_media_is_read_on_the_bulk_pool_and_a_reactions_on_the_control_path() -> None:
    store = NotingStore()
    frame = ImageAssetId.parse("frame-s1-sc1-shot1")
    assert frame is not None and frame.family is ImageFamily.FRAME
    store.put(production_id="p1", kind=AssetKind.FRAME, asset_id=str(frame), data=b"\x89PNG...", media_type="image/png", ext="png",
              provenance={"authorship": "human"})
    documents = Documents(store, None)
    media = await documents.version("p1", frame, 1, bulk=True)
    documents._cache.clear()  # read it again from the store
    control = await documents.version("p1", frame, 1)
    assert media.data == control.data == b"\x89PNG..."
    first, second = store.threads[0], store.threads[-1]
    assert not first.startswith("helix-control") and second.startswith("helix-control")


class CountingApprovals(Approvals):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.questions = 0

    def _approved_version(self, production_id: str, asset_id: str) -> int | None:
        self.questions += 1
        return super()._approved_version(production_id, asset_id)

    def _approved_of(self, production_id: str, kinds: tuple[AssetKind, ...]) -> list[Any]:
        self.questions += 1
        return super()._approved_of(production_id, kinds)


async def test_several_approved_documents_are_read_with_one_question(tmp_path: Path) -> None:
    store, approvals = MemoryStore(), CountingApprovals(f"sqlite:///{tmp_path / 'a.db'}")
    boards = [ScriptAssetId("script-j", ScriptPart.STORYBOARD, f"s{n}") for n in range(1, 4)]
    for n, board in enumerate(boards):
        for version in (1, 2):
            document = StoryboardDocument(level=board.name, script_id="script-j",
                                          content=Storyboard(production_id="p1", script_id="script-j", scene_id=f"s{n + 1}-v{version}", shots=[]))
            store.put(production_id="p1", kind=AssetKind.STORYBOARD, asset_id=str(board), data=document.model_dump_json().encode(),
                      media_type="application/json", ext="json", provenance={"authorship": "human"})
        approved = 1 if n == 1 else 2  # s2's second version waits for a person
        await approvals.record(ReviewApproved(production_id="p1", decision_id=f"d{n}", asset_id=str(board), kind=AssetKind.STORYBOARD,
                                              asset_version=approved, reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC)))
    documents = Documents(store, approvals)
    approvals.questions = 0
    reads = await documents.approved_all("p1", boards, StoryboardDocument, what="storyboard")
    assert approvals.questions == 1
    assert [(r.asset_id, r.version, r.document.content.scene_id) for r in reads] == [
        (str(boards[0]), 2, "s1-v2"), (str(boards[1]), 1, "s2-v1"), (str(boards[2]), 2, "s3-v2")]
    for board, read in zip(boards, reads, strict=True):
        assert (await documents.approved("p1", board, StoryboardDocument)).version == read.version, "what `approved` reads, one at a time"
    missing = ScriptAssetId("script-j", ScriptPart.STORYBOARD, "s9")
    with pytest.raises(NotApproved, match=f"storyboard {missing} is not approved"):
        await documents.approved_all("p1", [*boards, missing], StoryboardDocument, what="storyboard")
