"""What review decided, as a generator remembers it: the latest decision per version wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from helix.events import Actor, AssetKind, ReviewApproved, ReviewRejected
from helix.generation.approvals import Approvals

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def decision(model: type, version: int, minutes: int, asset_id: str = "script-j-script") -> ReviewApproved:
    return model(production_id="p", decision_id=f"d{version}{minutes}", asset_id=asset_id, kind="script", asset_version=version,
                 reviewer=Actor(subject="rhea"), decided_at=NOW + timedelta(minutes=minutes))


async def test_latest_approved_version(tmp_path: Path) -> None:
    approvals = Approvals(f"sqlite:///{tmp_path / 'a.db'}")
    assert await approvals.approved_version("p", "script-j-script") is None
    await approvals.record(decision(ReviewApproved, 1, 0))
    await approvals.record(decision(ReviewApproved, 2, 5))
    assert await approvals.approved_version("p", "script-j-script") == 2
    await approvals.record(decision(ReviewRejected, 2, 9))  # a second reviewer took it back
    assert await approvals.approved_version("p", "script-j-script") == 1
    await approvals.record(decision(ReviewApproved, 2, 1))  # an older decision, replayed: ignored
    assert await approvals.approved_version("p", "script-j-script") == 1
    assert await approvals.approved_version("other", "script-j-script") is None


async def test_a_poll_of_decisions_is_recorded_in_order_in_one_go(tmp_path: Path) -> None:
    approvals = Approvals(f"sqlite:///{tmp_path / 'a.db'}")
    await approvals.record_all([decision(ReviewApproved, 1, 0), decision(ReviewApproved, 2, 5), decision(ReviewRejected, 2, 9),
                                decision(ReviewApproved, 2, 1), decision(ReviewApproved, 1, 0, asset_id="script-k-script")])
    assert await approvals.approved_version("p", "script-j-script") == 1, "the same outcome as one at a time"
    assert await approvals.approved_version("p", "script-k-script") == 1
    await approvals.record_all([])


async def test_the_newest_approved_version_of_every_asset_of_a_kind_in_one_question(tmp_path: Path) -> None:
    approvals = Approvals(f"sqlite:///{tmp_path / 'a.db'}")
    await approvals.record_all([decision(ReviewApproved, 1, 0), decision(ReviewApproved, 2, 5), decision(ReviewApproved, 3, 6),
                                decision(ReviewRejected, 3, 9), decision(ReviewApproved, 1, 0, asset_id="script-k-script"),
                                decision(ReviewRejected, 1, 0, asset_id="script-m-script")])
    newest = await approvals.newest_approved("p", AssetKind.SCRIPT)
    assert newest == {"script-j-script": 2, "script-k-script": 1}, "a version taken back does not count; a rejected asset is absent"
    for asset_id, version in newest.items():
        assert await approvals.approved_version("p", asset_id) == version, "the same answer as asking for each"
    assert await approvals.newest_approved("p", AssetKind.FRAME) == {} and await approvals.newest_approved("other", AssetKind.SCRIPT) == {}
