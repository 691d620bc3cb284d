"""`helix.generation.reader.Documents`: which threads a read runs on. Reactions read on the
control path; the media a job reads (frames, audio tracks) go to the bulk pool, so a
reaction never queues behind them."""

from __future__ import annotations

import threading
from typing import Any

from helix.events import AssetKind
from helix.generation.ids import ImageAssetId, ImageFamily
from helix.generation.reader import Documents
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
