"""A production's asset tree: the newest version of each asset under the first parent known to
the production, further parents listed, counts by review status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from helix_gateway.readmodel.tables import Asset
from helix_gateway.tree import build_tree

from .conftest import T0, asset_event


def row(
    asset_id: str, *, version: int = 1, parents: list[str] | None = None, status: str = "pending", minute: int = 0, **fields: Any
) -> Asset:
    at = T0 + timedelta(minutes=minute)
    event = asset_event("p", asset_id, version=version, at=at, parent_asset_ids=parents or [], **fields)
    return Asset(
        asset_id=asset_id,
        version=version,
        production_id="p",
        kind=event.data.kind.value,
        media_type=event.data.media_type,
        review_status=status,
        job_id=event.data.job_id,
        event=event.model_dump(mode="json"),
        created_at=at,
    )


def test_assets_sit_under_their_first_known_parent_newest_version_each() -> None:
    rows = [
        row("script", status="approved"),
        row("board", parents=["script"], kind="storyboard", minute=1),
        row("board", version=2, parents=["script"], kind="storyboard", minute=2, status="approved"),
        row("frame-2", parents=["board"], kind="frame", media_type="image/png", minute=4),
        row("frame-1", parents=["board"], kind="frame", media_type="image/png", minute=3, status="rejected"),
        row("animatic", parents=["outside", "frame-1", "frame-2"], kind="animatic", media_type="video/mp4", minute=5),
    ]
    tree = build_tree("p", rows)
    assert tree.assets == 5 and tree.by_status == {"approved": 2, "rejected": 1, "pending": 2}
    [script] = tree.roots
    [board] = script.children
    assert (board.asset_id, board.version, board.versions, board.review_status) == ("board", 2, 2, "approved")
    assert [c.asset_id for c in board.children] == ["frame-1", "frame-2"]  # oldest first
    frame_1 = board.children[0]
    assert [c.asset_id for c in frame_1.children] == ["animatic"]
    assert frame_1.children[0].also_from == ["frame-2"]  # the parent outside the production is not listed


def test_assets_whose_parents_are_unknown_are_roots_and_decision_only_rows_are_skipped() -> None:
    orphan = row("frame-9", parents=["elsewhere"], kind="frame", media_type="image/png")
    own_parent = row("script", parents=["script"])
    decision_only = Asset(
        asset_id="late", version=1, production_id="p", kind="frame", review_status="approved", event=None, created_at=T0
    )
    tree = build_tree("p", [decision_only, own_parent, orphan])
    assert sorted(r.asset_id for r in tree.roots) == ["frame-9", "script"]
    assert tree.assets == 2 and all(not r.children for r in tree.roots)


def test_an_empty_production_has_an_empty_tree() -> None:
    tree = build_tree("p", [])
    assert (tree.assets, tree.by_status, tree.roots) == (0, {}, [])


def test_a_frame_drawn_with_a_reference_since_revised_and_approved_is_stale_with_the_reason() -> None:
    from helix.events import FrameSummary, UsedVersion

    def frame(asset_id: str, mara_version: int, minute: int) -> Asset:
        summary = FrameSummary(shot_id="s1-shot1", layout="subjects", references={"MARA": UsedVersion(asset_id="ref-mara", version=mara_version)})
        return row(asset_id, parents=["board", "ref-mara"], kind="frame", media_type="image/png", minute=minute, summary=summary)

    rows = [row("board", kind="storyboard", status="approved"), row("ref-mara", kind="frame", status="approved", minute=1),
            frame("frame-old", 1, 2), row("ref-mara", version=2, kind="frame", minute=3)]
    assert build_tree("p", rows).stale == [], "v2 drawn but not approved yet: nothing changes silently, nothing is stale"
    rows[-1] = row("ref-mara", version=2, kind="frame", minute=3, status="approved")
    rows.append(frame("frame-new", 2, 4))
    tree = build_tree("p", rows)
    assert tree.stale == ["frame-old"], "the frame drawn from v1 is stale; the one drawn again from v2 is not"
    [board] = [r for r in tree.roots if r.asset_id == "board"]
    [old] = [c for c in board.children if c.asset_id == "frame-old"]
    assert old.stale == ["MARA's reference ref-mara has v2 approved; this frame used v1"]
