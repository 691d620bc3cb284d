"""`MemoryStore` and `MemoryBus` (see the package's docstring)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from helix.assets.keys import COMPANION_EXTS, AssetKey, UploadKey, data_use_key
from helix.assets.store import AssetIntegrityError, AssetNotFound, StoredAsset, reusable
from helix.events.data import AssetKind, EventData
from helix.events.envelope import CloudEvent, new_event
from helix.events.topics import Topic
from helix.provenance import DataUse

E = TypeVar("E", bound=EventData)


@dataclass
class _Object:
    data: bytes
    media_type: str
    sha256: str
    job_id: str | None = None


class MemoryStore:
    """The asset store's rules in a dict; `fail_next` makes the next calls fail as a store that is away."""

    def __init__(self) -> None:
        self.objects: dict[str, _Object] = {}
        self.uploads: dict[str, _Object] = {}  # staged uploads, apart from asset versions
        self.data_uses: dict[str, DataUse] = {}  # each production's data-use choice
        self.fail_next = 0
        self.puts = 0
        self._lock = threading.Lock()  # steps call the store from worker threads

    def _maybe_fail(self) -> None:
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise ConnectionError("the asset store is away")

    def ensure_bucket(self) -> None:
        self._maybe_fail()

    def put(self, *, production_id: str, kind: AssetKind | str, asset_id: str, data: bytes, media_type: str, ext: str,
            provenance: dict[str, Any] | None = None, preview: bytes | None = None, manifest: bytes | None = None,
            job_id: str | None = None) -> StoredAsset:
        existing = self.versions(production_id, kind, asset_id)
        digest = hashlib.sha256(data).hexdigest()
        if (found := reusable(existing, digest, job_id)) is not None:
            return found
        self._maybe_fail()
        with self._lock:
            self.puts += 1
            key = AssetKey.build(production_id, kind, asset_id, (existing[-1].key.version + 1) if existing else 1, ext)
            stored = StoredAsset(key, digest, len(data), media_type, job_id=job_id)
            sidecar = {**stored.event_fields(), "kind": key.kind.value, "stored_at": datetime.now(UTC).isoformat(),
                       "provenance": provenance or {}}
            self._write(key.sidecar(), json.dumps(sidecar, sort_keys=True, default=str).encode(), "application/json")
            if preview is not None:
                self._write(key.preview(), preview, "image/png")
            if manifest is not None:
                self._write(key.manifest(), manifest, "application/c2pa")
            self._write(key, data, media_type, job_id)
        return stored

    def _write(self, key: AssetKey, data: bytes, media_type: str, job_id: str | None = None) -> None:
        self.objects[str(key)] = _Object(data, media_type, hashlib.sha256(data).hexdigest(), job_id)

    def put_data_use(self, data_use: DataUse) -> None:
        self._maybe_fail()
        self.data_uses[data_use_key(data_use.production_id)] = data_use

    def data_use(self, production_id: str) -> DataUse | None:
        self._maybe_fail()
        return self.data_uses.get(data_use_key(production_id))

    def stage(self, key: UploadKey, data: bytes, media_type: str) -> str:
        self._maybe_fail()
        digest = hashlib.sha256(data).hexdigest()
        self.uploads[str(key)] = _Object(data, media_type, digest)
        return digest

    def staged(self, key: UploadKey, sha256: str) -> bytes:
        self._maybe_fail()
        found = self.uploads.get(str(key))
        if found is None:
            raise AssetNotFound(str(key))
        if hashlib.sha256(found.data).hexdigest() != sha256:
            raise AssetIntegrityError(f"{key}: the staged upload does not match the sha256 its request carries")
        return found.data

    def stat(self, key: str | AssetKey) -> StoredAsset:
        self._maybe_fail()
        key = key if isinstance(key, AssetKey) else AssetKey.parse(key)
        found = self.objects.get(str(key))
        if found is None:
            raise AssetNotFound(str(key))
        return StoredAsset(key, found.sha256, len(found.data), found.media_type, job_id=found.job_id)

    def read(self, key: str | AssetKey) -> tuple[bytes, StoredAsset]:
        stored = self.stat(key)
        data = self.objects[stored.object_key].data
        if hashlib.sha256(data).hexdigest() != stored.sha256:
            raise AssetIntegrityError(f"{stored.object_key}: content does not match its recorded sha256", stored)
        return data, stored

    def get(self, key: str | AssetKey) -> bytes:
        return self.read(key)[0]

    def sidecar(self, key: str | AssetKey) -> dict[str, Any]:
        key = key if isinstance(key, AssetKey) else AssetKey.parse(key)
        return json.loads(self.get(key.sidecar()))

    def versions(self, production_id: str, kind: AssetKind | str, asset_id: str) -> list[StoredAsset]:
        self._maybe_fail()
        folder = AssetKey.build(production_id, kind, asset_id, 1, "bin").prefix
        with self._lock:
            keys = [key for key in map(AssetKey.parse, self.objects) if key.prefix == folder]
        return [self.stat(k) for k in sorted((k for k in keys if k.ext not in COMPANION_EXTS), key=lambda k: k.version)]

    def presign(self, key: str | AssetKey, expires: timedelta = timedelta(minutes=5)) -> str:
        return f"memory://{self.stat(key).object_key}?expires={int(expires.total_seconds())}"

    def tamper(self, key: str | AssetKey, data: bytes) -> None:
        """Change an object's bytes behind the store's back (its recorded sha256 stays)."""
        found = self.objects[str(key)]
        found.data = data


Handler = Callable[[CloudEvent[Any]], Awaitable[None]]


@dataclass
class MemoryBus:
    """Publishes into lists; subscribers get each event id once, in order."""

    source: str = "/helix/tests"
    published: list[CloudEvent[Any]] = field(default_factory=list)
    dead_letters: list[tuple[CloudEvent[Any], str]] = field(default_factory=list)
    _subscribers: dict[Topic, list[tuple[str, Handler]]] = field(default_factory=dict)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    async def publish(self, data: EventData, *, event_id: str | None = None) -> CloudEvent[Any]:
        event = new_event(data, source=self.source, event_id=event_id)
        self.published.append(event)
        for group, handler in self._subscribers.get(data.topic, []):
            if (group, event.id) in self._seen:
                continue
            try:
                await handler(event)
            except Exception as exc:
                self.dead_letters.append((event, f"{type(exc).__name__}: {exc}"))
            self._seen.add((group, event.id))
        return event

    def subscribe(self, topic: Topic, group: str, handler: Handler) -> None:
        self._subscribers.setdefault(topic, []).append((group, handler))

    def of_type(self, model: type[E]) -> list[E]:
        """The data of every published event of one type, in order (copies with one id count once)."""
        seen: set[str] = set()
        out = []
        for event in self.published:
            if isinstance(event.data, model) and event.id not in seen:
                seen.add(event.id)
                out.append(event.data)
        return out

    def events(self, topic: Topic | None = None) -> list[CloudEvent[Any]]:
        return [e for e in self.published if topic is None or e.data.topic is topic]
