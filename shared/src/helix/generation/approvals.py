"""What review decided about each asset version, as a generator knows it (choreography's
memory): every generator records the decisions it consumes, so it can refuse to build on
an asset no person has approved ("nothing moves downstream without a human").

A small SQL table in the service's own database (SQLite by default, PostgreSQL by URL):
one row per (asset, version) with the asset's kind, the latest decision winning. Queries
name a kind, never a spelling of ids (ids are parsed in `helix.generation.ids`).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from helix.db import UTCDateTime, make_engine
from helix.events import AssetKind, ReviewApproved, ReviewDecision, ReviewRejected
from helix.threads import control


class Approved(NamedTuple):
    asset_id: str
    version: int
    decided_at: datetime


class _Base(DeclarativeBase):
    pass


class Outcome(_Base):
    __tablename__ = "helix_decided_versions"

    asset_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    production_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(32))  # approved | rejected | revision_requested
    decision_id: Mapped[str] = mapped_column(String(128))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


def status_of(decision: ReviewDecision) -> str:
    if isinstance(decision, ReviewApproved):
        return "approved"
    if isinstance(decision, ReviewRejected):
        return "rejected"
    return "revision_requested"


class Approvals:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url, pool_size=2)
        _Base.metadata.create_all(self.engine)

    def _record(self, decisions: list[ReviewDecision]) -> None:
        """In order, in one transaction (forty storyboards approved at once are one round trip,
        not forty before the first reaction can run)."""
        with Session(self.engine) as s, s.begin():
            for decision in decisions:
                row = s.get(Outcome, (decision.asset_id, decision.asset_version), with_for_update=True)
                if row is not None and row.decided_at > decision.decided_at:
                    continue  # an older decision, replayed
                if row is None:
                    row = Outcome(asset_id=decision.asset_id, version=decision.asset_version)
                    s.add(row)
                row.production_id = decision.production_id
                row.kind = decision.kind.value
                row.status = status_of(decision)
                row.decision_id = decision.decision_id
                row.decided_at = decision.decided_at
                s.flush()  # a later decision on the same asset version finds this row

    def _approved_version(self, production_id: str, asset_id: str) -> int | None:
        with Session(self.engine) as s:
            query = select(Outcome.version).where(Outcome.production_id == production_id, Outcome.asset_id == asset_id,
                                                  Outcome.status == "approved").order_by(Outcome.version.desc()).limit(1)
            return s.scalars(query).first()

    def _approved_of(self, production_id: str, kinds: tuple[AssetKind, ...]) -> list[Approved]:
        with Session(self.engine) as s:
            query = select(Outcome.asset_id, Outcome.version, Outcome.decided_at).where(
                Outcome.production_id == production_id, Outcome.status == "approved", Outcome.kind.in_([k.value for k in kinds]))
            return [Approved(a, v, d) for a, v, d in s.execute(query)]

    async def record(self, decision: ReviewDecision) -> None:
        await control(self._record, [decision])

    async def record_all(self, decisions: list[ReviewDecision]) -> None:
        """Several decisions, in the order given, in one transaction."""
        if decisions:
            await control(self._record, decisions)

    async def approved_version(self, production_id: str, asset_id: str) -> int | None:
        """The newest version of the asset a person approved (and did not later reject); None: none."""
        return await control(self._approved_version, production_id, asset_id)

    async def approved_of(self, production_id: str, *kinds: AssetKind) -> list[Approved]:
        """Every approved version of those kinds in a production (e.g. every approved frame)."""
        return await control(self._approved_of, production_id, kinds)

    async def newest_approved(self, production_id: str, *kinds: AssetKind) -> dict[str, int]:
        """asset id -> its newest approved version (`approved_version` of each), for every asset of
        those kinds: one question where a plan needs forty storyboards."""
        newest: dict[str, int] = {}
        for approved in await self.approved_of(production_id, *kinds):
            newest[approved.asset_id] = max(newest.get(approved.asset_id, 0), approved.version)
        return newest
