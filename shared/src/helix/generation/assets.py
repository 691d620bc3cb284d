"""What a generator hands the kit to store: one generated asset with everything needed to trust it.

The sidecar of every stored version holds the asset's provenance (`Provenance`, typed): the
model and revision, inputs, parameters, seed, lineage, authorship, who asked, the decision
the job reacted to, the job, the model time and the asset's typed summary. The
`helix.asset.generated` event is rebuilt from it (`event_from`), so a job that resumes after
a crash announces an asset it stored earlier exactly as the first time, under the same
event id (`asset_event_id`), and consumers see it once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from helix.assets import StoredAsset
from helix.events.data import (
    Actor,
    AssetCost,
    AssetGenerated,
    AssetKind,
    AssetSummary,
    Authorship,
    DecisionRef,
    ModelRef,
)

_EVENT_IDS = uuid.UUID("5f0c6a52-8d0e-4a3c-9a57-3f1c2b7d9e41")  # namespace of Helix's derived event ids


@dataclass
class GeneratedAsset:
    """One asset a generator made (or a person wrote), ready to store and announce."""

    kind: AssetKind
    asset_id: str
    data: bytes
    media_type: str
    ext: str
    model: ModelRef | None  # None only for an asset a person wrote
    inputs: dict[str, Any] = field(default_factory=dict)  # prompt and inputs, as the model saw them
    parameters: dict[str, Any] = field(default_factory=dict)  # as the engine really ran (never copied constants)
    seed: int | None = None
    parents: list[str] = field(default_factory=list)  # asset ids this was made from
    authorship: Authorship = Authorship.AI
    cost: AssetCost | None = None
    revises_version: int | None = None  # a revision: the version of this same asset it replaces
    preview: bytes | None = None  # a small PNG for the review console (images)
    summary: AssetSummary | None = None  # what review and the gateway read of it, typed per kind
    extra: dict[str, Any] = field(default_factory=dict)  # more provenance for the sidecar (e.g. a diff)


class C2paRecord(BaseModel):
    """How a version's Content Credentials were written."""

    model_config = ConfigDict(extra="ignore")
    embedded: bool
    manifest: str | None = None
    digital_source_type: Literal["trainedAlgorithmicMedia", "composite"] = "trainedAlgorithmicMedia"


class Origin(BaseModel):
    """What any stored version says of how it was made; empty for one Helix did not make (a
    studio's upload): no job, no model, no inputs."""

    model_config = ConfigDict(extra="allow")  # a generator's own additions (`GeneratedAsset.extra`) ride along

    job_id: str | None = None
    model: ModelRef | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    parents: list[str] = Field(default_factory=list)
    authorship: Authorship = Authorship.AI


class Provenance(Origin):
    """The sidecar's provenance of one generated version: everything its event says beyond the
    store's facts. Written by the kit, read by the kit (resume) and by whoever builds on the
    version (a revision reads the parameters of the version the reviewer saw)."""

    generated_by: Actor
    generated_at: AwareDatetime
    requested_by: Actor | None = None
    cost: AssetCost | None = None
    revises_version: int | None = None
    summary: AssetSummary | None = None
    caused_by: DecisionRef | None = None
    c2pa: C2paRecord | None = None


def derived_event_id(*parts: object) -> str:
    """A stable event id for an event that may be published again after a crash."""
    return str(uuid.uuid5(_EVENT_IDS, "\x1f".join(str(p) for p in parts)))


def asset_event_id(production_id: str, asset_id: str, version: int) -> str:
    return derived_event_id("asset", production_id, asset_id, version)


def provenance_of(asset: GeneratedAsset, *, job_id: str, generated_by: Actor, generated_at: datetime,
                  requested_by: Actor | None, caused_by: DecisionRef | None = None) -> Provenance:
    """The provenance of one version about to be stored."""
    return Provenance(job_id=job_id, model=asset.model, inputs=asset.inputs, parameters=asset.parameters, seed=asset.seed,
                      parents=list(asset.parents), authorship=asset.authorship, generated_by=generated_by, generated_at=generated_at,
                      requested_by=requested_by, cost=asset.cost, revises_version=asset.revises_version, summary=asset.summary,
                      caused_by=caused_by, **asset.extra)


def event_from(stored: StoredAsset, provenance: Provenance) -> AssetGenerated:
    """The `helix.asset.generated` of a stored version, from the store's facts and its provenance."""
    return AssetGenerated(
        **stored.event_fields(),
        job_id=provenance.job_id,
        model=provenance.model,
        inputs=provenance.inputs,
        parameters=provenance.parameters,
        seed=provenance.seed,
        parent_asset_ids=provenance.parents,
        authorship=provenance.authorship,
        generated_by=provenance.generated_by,
        generated_at=provenance.generated_at,
        requested_by=provenance.requested_by,
        cost=provenance.cost,
        revises_version=provenance.revises_version,
        summary=provenance.summary,
        caused_by=provenance.caused_by,
    )


def total_cost(costs: list[AssetCost | None]) -> AssetCost | None:
    """The sum of several generations' costs (one asset made of several model calls)."""
    known = [c for c in costs if c is not None]
    if not known:
        return None
    devices = sorted({c.device for c in known})
    return AssetCost(model_seconds=round(sum(c.model_seconds for c in known), 6),
                     gpu_seconds=round(sum(c.gpu_seconds for c in known), 6), device="+".join(devices))
