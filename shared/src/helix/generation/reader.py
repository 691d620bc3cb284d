"""One reader for what a generator builds on: the approved version of an asset → its bytes →
a typed document, with its provenance.

    read = await documents.approved(production_id, ScriptAssetId(script, ScriptPart.SCRIPT), ScriptDocument)
    read.document.content.scenes, read.version, read.provenance.parents

- "Nothing moves downstream without a human": `approved` reads the version a person
  approved (the generator's record of review decisions) and refuses (`NotApproved`, a
  `JobRefused`) when there is none.
- Versions never change once stored, so bytes are cached (small ones, least recently used
  first out); approvals are asked every time, since they do change.
- A store outage is waited out (up to `store_outage_s`), as writes are.
- A stored document that does not validate is corrupt: `CorruptDocument` is a fault (the job
  fails retriably and its request is dead-lettered for replay), never bad input.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, overload

from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from helix.assets import AssetNotFound, Store, StoredAsset
from helix.bus import DEFAULT_TRANSIENT
from helix.events.data import AssetKind, Authorship
from helix.generation.approvals import Approvals
from helix.generation.assets import Origin, Provenance
from helix.generation.jobs import JobRefused
from helix.threads import control

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
SMALL_BYTES, ENTRIES = 512 * 1024, 1024

__all__ = ["AnyAsset", "AssetRef", "CorruptDocument", "Documents", "NotApproved", "NotStored", "Read"]


class AssetRef(Protocol):
    """A typed asset id (`ScriptAssetId`, `ImageAssetId`, `LocaleAssetId`) or an `AnyAsset`."""

    @property
    def kind(self) -> AssetKind: ...

    def __str__(self) -> str: ...


@dataclass(frozen=True)
class AnyAsset:
    """An asset Helix did not name (a studio's upload): its id and kind as given."""

    asset_id: str
    kind: AssetKind

    def __str__(self) -> str:
        return self.asset_id


class NotApproved(JobRefused):
    """No person has approved a version of the asset: nothing is built on it."""


def not_approved(asset: AssetRef, what: str = "") -> NotApproved:
    return NotApproved(f"{what or asset.kind.value} {asset} is not approved: nothing is built on it before a person approves it")


class NotStored(JobRefused):
    """The asset (or the version asked for) is not in the asset store."""


class CorruptDocument(Exception):
    """A stored document does not validate against its model: a fault to fix, then replay."""


@dataclass(frozen=True)
class Read(Generic[T]):
    stored: StoredAsset
    data: bytes
    provenance: Origin  # a generated version's `Provenance`; empty (no job, no model) for a studio's upload
    document: T

    @property
    def asset_id(self) -> str:
        return self.stored.key.asset_id

    @property
    def version(self) -> int:
        return self.stored.key.version


class Documents:
    def __init__(self, store: Store, approvals: Approvals | None, *, store_outage_s: float = 120.0,
                 transient: tuple[type[BaseException], ...] = DEFAULT_TRANSIENT, entries: int = ENTRIES) -> None:
        self.store = store
        self.approvals = approvals
        self.store_outage_s = store_outage_s
        self.transient = transient
        self.entries = entries
        self._cache: OrderedDict[tuple[str, str, int], tuple[StoredAsset, bytes, Origin]] = OrderedDict()

    # --- the approved version --------------------------------------------------------------

    async def approved_version(self, production_id: str, asset: AssetRef | str) -> int | None:
        if self.approvals is None:
            raise RuntimeError("this reader has no record of review decisions")
        return await self.approvals.approved_version(production_id, str(asset))

    async def newest_approved(self, production_id: str, *kinds: AssetKind) -> dict[str, int]:
        """Asset id -> its newest approved version, for every approved asset of these kinds."""
        if self.approvals is None:
            raise RuntimeError("this reader has no record of review decisions")
        return await self.approvals.newest_approved(production_id, *kinds)

    @overload
    async def approved(self, production_id: str, asset: AssetRef, model: type[M], *, what: str = "") -> Read[M]: ...

    @overload
    async def approved(self, production_id: str, asset: AssetRef, model: None = None, *, what: str = "") -> Read[None]: ...

    async def approved(self, production_id: str, asset: AssetRef, model: type[M] | None = None, *, what: str = "") -> Read[Any]:
        """The version of `asset` a person approved, parsed as `model` (bytes only without one)."""
        version = await self.approved_version(production_id, asset)
        if version is None:
            raise not_approved(asset, what)
        return await self.version(production_id, asset, version, model)

    async def approved_all(self, production_id: str, assets: Sequence[AssetRef], model: type[M], *, what: str = "") -> list[Read[M]]:
        """`approved` for several assets, with one question to the record of decisions (a plan
        that reads forty storyboards asks once, not forty times); read side by side."""
        if self.approvals is None:
            raise RuntimeError("this reader has no record of review decisions")
        newest = await self.approvals.newest_approved(production_id, *dict.fromkeys(a.kind for a in assets))
        for asset in assets:
            if str(asset) not in newest:
                raise not_approved(asset, what)
        return list(await asyncio.gather(*(self.version(production_id, a, newest[str(a)], model) for a in assets)))

    # --- any version ------------------------------------------------------------------------

    async def version(self, production_id: str, asset: AssetRef, version: int, model: type[M] | None = None, *,
                      bulk: bool = False) -> Read[Any]:
        """One version. `bulk`: media a job reads (frames, audio tracks) go to the bulk pool, so
        a reaction's reads on the control path never queue behind a 100 MB dub."""
        key = (production_id, str(asset), version)
        if (hit := self._cache.get(key)) is not None:
            self._cache.move_to_end(key)
            stored, data, provenance = hit
        else:
            found = await self._retrying(lambda: self._read_version(production_id, asset, version), bulk=bulk)
            if found is None:
                raise NotStored(f"version {version} of {asset} is not in the asset store of production {production_id}")
            stored, data, provenance = found
            if len(data) <= SMALL_BYTES:
                self._cache[key] = found
                while len(self._cache) > self.entries:
                    self._cache.popitem(last=False)
        return Read(stored, data, provenance, parse(data, model, str(asset), version) if model is not None else None)

    async def latest(self, production_id: str, asset: AssetRef, model: type[M] | None = None) -> Read[Any] | None:
        """The newest stored version (approved or not), parsed as `model`; None when there is none."""
        versions = await self.versions(production_id, asset)
        if not versions:
            return None
        return await self.version(production_id, asset, versions[-1].key.version, model)

    async def versions(self, production_id: str, asset: AssetRef) -> list[StoredAsset]:
        return await self._retrying(lambda: self._versions(production_id, asset))

    # --- plumbing ------------------------------------------------------------------------------

    def _versions(self, production_id: str, asset: AssetRef) -> list[StoredAsset]:
        try:
            return self.store.versions(production_id, asset.kind, str(asset))
        except AssetNotFound:
            return []

    def _read_version(self, production_id: str, asset: AssetRef, version: int) -> tuple[StoredAsset, bytes, Origin] | None:
        chosen = next((v for v in self._versions(production_id, asset) if v.key.version == version), None)
        if chosen is None:
            return None
        try:
            data = self.store.get(chosen.key)
            sidecar = self.store.sidecar(chosen.key)
        except AssetNotFound:
            return None
        recorded = sidecar.get("provenance") or {}
        try:
            if recorded.get("generated_by"):
                provenance: Origin = Provenance.model_validate(recorded)
            else:  # no generator: a person's upload
                provenance = Origin.model_validate({"authorship": Authorship.HUMAN, **recorded})
        except ValidationError as exc:
            raise CorruptDocument(f"the provenance of {chosen.key} does not validate: {exc}") from None
        return chosen, data, provenance

    async def _retrying(self, call: Callable[[], T], *, bulk: bool = False) -> T:
        retrying = AsyncRetrying(stop=stop_after_delay(self.store_outage_s), wait=wait_exponential_jitter(multiplier=0.2, max=5.0),
                                 retry=retry_if_exception_type(self.transient), reraise=True)
        async for attempt in retrying:
            with attempt:
                return await (asyncio.to_thread(call) if bulk else control(call))
        raise AssertionError("unreachable")  # pragma: no cover


def parse(data: bytes, model: type[M], asset_id: str, version: int) -> M:
    """A stored document as its model; `CorruptDocument` when it does not validate."""
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise CorruptDocument(f"{asset_id} v{version} is not a valid {model.__name__}: {exc.error_count()} errors, "
                              f"first: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
