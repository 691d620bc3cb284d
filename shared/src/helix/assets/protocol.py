"""What every asset store does, as a protocol: the S3 store (`AssetStore`) and the in-memory
double (`helix.testing.MemoryStore`) keep the same rules, so a domain step is unit-testable
without a server:

- versions are numbered from 1, per asset, and never change once written;
- a put of bytes some version already holds, or by a job that already stored a version,
  returns that version (`reused`) and writes nothing (`helix.assets.store.reusable`);
- every read checks the bytes against the sha256 recorded at write time;
- keys go through `AssetKey` (no traversal, no other bucket);
- a person's upload waits under `UploadKey` (`stage`) until a service keeps it (`staged`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from helix.assets.keys import AssetKey, UploadKey
from helix.assets.store import StoredAsset
from helix.events.data import AssetKind
from helix.provenance import DataUse


class Store(Protocol):
    def ensure_bucket(self) -> None: ...

    def put(
        self,
        *,
        production_id: str,
        kind: AssetKind | str,
        asset_id: str,
        data: bytes,
        media_type: str,
        ext: str,
        provenance: dict[str, Any] | None = None,
        preview: bytes | None = None,
        manifest: bytes | None = None,
        job_id: str | None = None,
    ) -> StoredAsset: ...

    def stage(self, key: UploadKey, data: bytes, media_type: str) -> str: ...

    def staged(self, key: UploadKey, sha256: str) -> bytes: ...

    def put_data_use(self, data_use: DataUse) -> None: ...

    def data_use(self, production_id: str) -> DataUse | None: ...

    def stat(self, key: str | AssetKey) -> StoredAsset: ...

    def get(self, key: str | AssetKey) -> bytes: ...

    def read(self, key: str | AssetKey) -> tuple[bytes, StoredAsset]: ...

    def sidecar(self, key: str | AssetKey) -> dict[str, Any]: ...

    def versions(self, production_id: str, kind: AssetKind | str, asset_id: str) -> list[StoredAsset]: ...

    def presign(self, key: str | AssetKey, expires: timedelta = ...) -> str: ...
