"""A production's cast: each character and place with the views of its reference sheets (the
visual service's `reference` assets, each with its `ReferenceSummary`), and the one view frames
keep of it. One rule, used where frames are drawn and where people look at the cast: a
character is kept by its newest approved front view, a place by its newest approved
establishing view ("newest" by when it was made)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from helix.events.data import ReferenceSummary, ReferenceView

KEPT_VIEW = {"character": ReferenceView.FRONT, "place": ReferenceView.ESTABLISHING}


class ReferenceVersion(BaseModel):
    """One version of one view of a subject's reference sheet."""

    asset_id: str
    version: int
    view: ReferenceView
    approved: bool
    made_at: datetime | None = None


class CastMember(BaseModel):
    name: str
    kind: Literal["character", "place"]
    references: list[ReferenceVersion] = Field(default_factory=list, description="Every version known, newest first")

    def kept(self) -> ReferenceVersion | None:
        """The view frames keep of this member: its newest approved front (character) or establishing (place) view."""
        return next((r for r in self.references if r.approved and r.view is KEPT_VIEW[self.kind]), None)


class Cast(BaseModel):
    production_id: str
    members: list[CastMember] = Field(default_factory=list)

    def member(self, name: str, kind: Literal["character", "place"] = "character") -> CastMember | None:
        return next((m for m in self.members if m.name == name and m.kind == kind), None)


def build_cast(production_id: str, views: Iterable[tuple[ReferenceSummary, ReferenceVersion]]) -> Cast:
    """The cast from reference versions and what each shows: members in the order first met,
    characters before places; each member's versions newest first."""
    members: dict[tuple[str, str], CastMember] = {}
    for summary, version in views:
        member = members.setdefault((summary.subject_kind, summary.subject), CastMember(name=summary.subject, kind=summary.subject_kind))
        member.references.append(version)
    for member in members.values():
        member.references.sort(key=lambda r: (r.made_at is not None, r.made_at or datetime.min, r.version), reverse=True)
    ordered = sorted(members.values(), key=lambda m: m.kind != "character")
    return Cast(production_id=production_id, members=ordered)
