"""The cast from reference versions: members characters first, each version newest first, and
the view frames keep: the newest approved front view of a character, establishing view of a place."""

from __future__ import annotations

from datetime import UTC, datetime

from helix.cast import ReferenceVersion, build_cast
from helix.events import ReferenceSummary, ReferenceView


def view(subject: str, kind: str, v: ReferenceView, asset: str, version: int, approved: bool, day: int) -> tuple:
    return (ReferenceSummary(subject=subject, subject_kind=kind, view=v),  # type: ignore[arg-type]
            ReferenceVersion(asset_id=asset, version=version, view=v, approved=approved, made_at=datetime(2026, 1, day, tzinfo=UTC)))


def test_the_cast_keeps_the_newest_approved_front_or_establishing_view() -> None:
    cast = build_cast("p", [
        view("the pier", "place", ReferenceView.ESTABLISHING, "reference-j1-p1-establishing", 1, True, 1),
        view("MARA", "character", ReferenceView.FRONT, "reference-j1-c1-front", 1, True, 1),
        view("MARA", "character", ReferenceView.FRONT, "reference-j1-c1-front", 2, False, 3),  # newer, not approved
        view("MARA", "character", ReferenceView.FRONT, "reference-j2-c1-front", 1, True, 2),  # another sheet, approved later
        view("MARA", "character", ReferenceView.PROFILE, "reference-j2-c1-profile", 1, True, 4),
        view("TOM", "character", ReferenceView.PROFILE, "reference-j1-c2-profile", 1, True, 1),
    ])
    assert [(m.kind, m.name) for m in cast.members] == [("character", "MARA"), ("character", "TOM"), ("place", "the pier")]
    mara = cast.member("MARA")
    assert mara is not None and [(r.asset_id, r.version) for r in mara.references][:2] == [("reference-j2-c1-profile", 1),
                                                                                            ("reference-j1-c1-front", 2)]
    kept = mara.kept()
    assert kept is not None and (kept.asset_id, kept.version) == ("reference-j2-c1-front", 1)
    tom = cast.member("TOM")
    assert tom is not None and tom.kept() is None, "a profile alone keeps nobody"
    pier = cast.member("the pier", "place")
    assert pier is not None and pier.kept() is not None and cast.member("the pier") is None
