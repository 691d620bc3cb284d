"""The cost and time ledger: what each asset cost in machine and human time.

Per asset version, from the read model (no extra bookkeeping anywhere):

- model seconds and GPU seconds: what the generator reported in the asset's `cost`;
- queue seconds: how long its job's request waited before the generator started on it
  (the first generation's start minus the request time), shared evenly by the job's assets;
- review wait: from the asset's arrival to its decision (what the SLA measures);
- review seconds: the reviewer's handling time, first claim to decision.

Totals per kind and per production, and per finished minute of content: the running time
of the production's approved storyboards (the sum of their shots' durations), the length
an animatic of the approved work would have.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from pydantic import BaseModel, Field

from helix.documents import StoryboardDocument
from helix.events.data import AssetCost
from helix_gateway.readmodel.tables import Asset, Job

FIELDS = ("model_seconds", "gpu_seconds", "queue_seconds", "review_wait_seconds", "review_seconds")


class LedgerEntry(BaseModel):
    asset_id: str
    version: int
    kind: str
    review_status: str
    model: str | None = Field(None, description="Model id that generated it (None: made by a person)")
    device: str | None = None
    generated_at: datetime
    model_seconds: float = 0.0
    gpu_seconds: float = 0.0
    queue_seconds: float = 0.0
    review_wait_seconds: float = Field(0.0, description="Arrival to decision (0 while pending)")
    review_seconds: float = Field(0.0, description="Reviewer handling time, first claim to decision")


class LedgerTotals(BaseModel):
    assets: int = 0
    model_seconds: float = 0.0
    gpu_seconds: float = 0.0
    queue_seconds: float = 0.0
    review_wait_seconds: float = 0.0
    review_seconds: float = 0.0

    def add(self, entry: LedgerEntry) -> None:
        self.assets += 1
        for name in FIELDS:
            setattr(self, name, round(getattr(self, name) + getattr(entry, name), 3))


class Ledger(BaseModel):
    production_id: str
    entries: list[LedgerEntry]
    by_kind: dict[str, LedgerTotals]
    total: LedgerTotals
    finished_minutes: float = Field(description="Running time of the approved storyboards, in minutes")
    per_finished_minute: LedgerTotals | None = Field(None, description="Totals divided by the finished minutes (None before any)")


def build_ledger(production_id: str, rows: Iterable[tuple[Asset, Job | None]], finished_minutes: float) -> Ledger:
    rows = list(rows)
    queue_share = _queue_shares(rows)
    entries: list[LedgerEntry] = []
    for asset, _job in rows:
        generated = asset.generated()
        cost = (generated.cost if generated else None) or AssetCost()
        model = generated.model if generated else None
        review_wait = (asset.decided_at - asset.created_at).total_seconds() if asset.decided_at else 0.0
        entries.append(LedgerEntry(
            asset_id=asset.asset_id, version=asset.version, kind=asset.kind, review_status=asset.review_status,
            model=model.id if model else None, device=cost.device if generated and generated.cost else None, generated_at=asset.created_at,
            model_seconds=round(cost.model_seconds, 3), gpu_seconds=round(cost.gpu_seconds, 3),
            queue_seconds=round(queue_share.get((asset.asset_id, asset.version), 0.0), 3),
            review_wait_seconds=round(max(0.0, review_wait), 3), review_seconds=round(asset.review_seconds or 0.0, 3),
        ))
    by_kind: dict[str, LedgerTotals] = defaultdict(LedgerTotals)
    total = LedgerTotals()
    for entry in entries:
        by_kind[entry.kind].add(entry)
        total.add(entry)
    per_minute = None
    if finished_minutes > 0:
        per_minute = LedgerTotals(assets=total.assets, **{n: round(getattr(total, n) / finished_minutes, 3) for n in FIELDS})
    return Ledger(production_id=production_id, entries=entries, by_kind=dict(sorted(by_kind.items())), total=total,
                  finished_minutes=round(finished_minutes, 3), per_finished_minute=per_minute)


def _queue_shares(rows: list[tuple[Asset, Job | None]]) -> dict[tuple[str, int], float]:
    """Each job's wait before its first generation began, split evenly over the job's assets."""
    by_job: dict[str, list[Asset]] = defaultdict(list)
    requested: dict[str, datetime] = {}
    for asset, job in rows:
        if job is not None:
            by_job[job.job_id].append(asset)
            requested[job.job_id] = job.created_at
    shares: dict[tuple[str, int], float] = {}
    for job_id, assets in by_job.items():
        starts = [a.created_at.timestamp() - (cost.model_seconds if (g := a.generated()) and (cost := g.cost) else 0.0) for a in assets]
        wait = max(0.0, min(starts) - requested[job_id].timestamp())
        for a in assets:
            shares[(a.asset_id, a.version)] = wait / len(assets)
    return shares


def finished_minutes(rows: Iterable[tuple[Asset, Job | None]], read: Callable[[str], bytes]) -> float:
    """Running time of the newest approved version of each storyboard, in minutes."""
    newest: dict[str, Asset] = {}
    for asset, _job in rows:
        approved = asset.kind == "storyboard" and asset.review_status == "approved" and asset.object_key
        if approved and (asset.asset_id not in newest or asset.version > newest[asset.asset_id].version):
            newest[asset.asset_id] = asset
    seconds = 0.0
    for asset in newest.values():
        assert asset.object_key is not None
        board = StoryboardDocument.model_validate_json(read(asset.object_key)).content
        seconds += sum(shot.duration_s for shot in board.shots)
    return seconds / 60
