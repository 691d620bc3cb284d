"""A production's cast as people look at it: each character and place (`helix.cast`, from the
reference views in the read model) with every version of its reference sheets, the view frames
keep, the newest frames drawn with its references and which of them are stale, and for a
character its voice casting."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from helix.cast import CastMember, ReferenceVersion, build_cast
from helix.casting import CastingEntry, ResolvedCasting, character_key
from helix.events import AssetKind, FrameSummary, ReferenceSummary
from helix_gateway.readmodel.tables import Asset
from helix_gateway.tree import approved_versions, newest_versions


class CastMemberView(CastMember):
    keeps: ReferenceVersion | None = Field(None, description="The view frames keep (cast=true): newest approved front or establishing view")
    frames: list[str] = Field(default_factory=list, description="Frames whose newest version was drawn with this member's reference")
    stale_frames: list[str] = Field(default_factory=list, description="Those drawn with a reference version older than one approved since")
    voices: list[CastingEntry] = Field(default_factory=list, description="A character's voice casting entries")


class CastOverview(BaseModel):
    production_id: str
    members: list[CastMemberView]
    unconsented: list[str] = Field(description="Performers cast as voices without a consent for 'voice' in force")


def cast_overview(production_id: str, rows: Iterable[Asset], casting: ResolvedCasting) -> CastOverview:
    rows = list(rows)
    views: list[tuple[ReferenceSummary, ReferenceVersion]] = []
    newest, approved = newest_versions(rows), approved_versions(rows)
    for row in rows:
        generated = row.generated()
        if generated is None:
            continue
        summary = generated.typed_summary()
        if row.kind == AssetKind.REFERENCE.value and isinstance(summary, ReferenceSummary):
            views.append((summary, ReferenceVersion(asset_id=row.asset_id, version=row.version, view=summary.view,
                                                    approved=row.review_status == "approved", made_at=row.created_at)))
    frames: dict[str, list[tuple[str, bool]]] = {}  # reference asset -> (frame, stale)
    for asset_id, row in sorted(newest.items()):
        generated = row.generated()
        summary = generated.typed_summary() if generated is not None else None
        if isinstance(summary, FrameSummary):
            stale = bool(summary.stale(approved))
            for used in summary.used().values():
                frames.setdefault(used.asset_id, []).append((asset_id, stale))
    members = []
    for member in build_cast(production_id, views).members:
        drawn = sorted({f for r in member.references for f in frames.get(r.asset_id, [])})
        voices = [e for e in casting.casting.entries if character_key(e.character) == character_key(member.name)] \
            if member.kind == "character" else []
        members.append(CastMemberView(**member.model_dump(), keeps=member.kept(), frames=sorted({f for f, _ in drawn}),
                                      stale_frames=sorted({f for f, stale in drawn if stale}), voices=voices))
    cast_names = {character_key(m.name) for m in members if m.kind == "character"}
    for character in casting.casting.characters():  # cast as a voice, with no reference sheet yet
        if character_key(character) not in cast_names:
            members.append(CastMemberView(name=character, kind="character", voices=[
                e for e in casting.casting.entries if character_key(e.character) == character_key(character)]))
    return CastOverview(production_id=production_id, members=members,
                        unconsented=[p for p in casting.casting.performers() if casting.consent_for(p) is None])
