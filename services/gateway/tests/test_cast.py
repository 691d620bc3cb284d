"""The cast as the gateway shows it: members from the reference views in the read model, the view
frames keep, the frames drawn with a member's references and the stale ones, a character's voices
(and characters cast as voices with no sheet yet), performers cast without a voice consent."""

from __future__ import annotations

from helix.casting import Casting, CastingEntry, ModelVoice, PerformerVoice, ResolvedCasting
from helix.events import AssetKind, FrameSummary, ReferenceSummary, ReferenceView, UsedVersion
from helix_gateway.cast import cast_overview
from helix_gateway.state import GatewayState

from .conftest import add_asset, later


async def reference(gateway: GatewayState, asset_id: str, subject: str, view: ReferenceView, version: int = 1, *, minutes: float = 0,
                    kind: str = "character") -> None:
    summary = ReferenceSummary(subject=subject, subject_kind=kind, view=view)  # type: ignore[arg-type]
    await add_asset(gateway, asset_id=asset_id, version=version, kind=AssetKind.REFERENCE, media_type="image/png", at=later(minutes),
                    summary=summary.model_dump(mode="json"))


async def approve(gateway: GatewayState, asset_id: str, version: int) -> None:
    from helix.events import Actor, ReviewApproved

    await gateway.read_model.apply_decision(ReviewApproved(production_id="lighthouse", decision_id=f"d-{asset_id}-{version}", asset_id=asset_id,
                                                           kind="reference", asset_version=version, reviewer=Actor(subject="rhea"),
                                                           decided_at=later(30)), "approved")


async def test_members_their_kept_view_frames_stale_frames_and_voices(gateway: GatewayState) -> None:
    await reference(gateway, "reference-j1-c1-front", "MARA", ReferenceView.FRONT)
    await reference(gateway, "reference-j1-c1-profile", "MARA", ReferenceView.PROFILE, minutes=1)
    await reference(gateway, "reference-j1-p1-establishing", "the pier", ReferenceView.ESTABLISHING, kind="place")
    await approve(gateway, "reference-j1-c1-front", 1)
    frame = FrameSummary(shot_id="s1-shot1", references={"MARA": UsedVersion(asset_id="reference-j1-c1-front", version=1)},
                         place=UsedVersion(asset_id="reference-j1-p1-establishing", version=1))
    await add_asset(gateway, asset_id="frame-j2-s1-shot1", kind=AssetKind.FRAME, media_type="image/png", summary=frame.model_dump(mode="json"))
    await add_asset(gateway, asset_id="frame-j2-s1-shot2", kind=AssetKind.FRAME, media_type="image/png",
                    summary=FrameSummary(shot_id="s1-shot2").model_dump(mode="json"))
    casting = ResolvedCasting(casting=Casting(production_id="lighthouse", entries=[
        CastingEntry(character="Mara", voice=ModelVoice(speaker=2)),
        CastingEntry(character="TOM", locale="de", voice=PerformerVoice(performer="Bo Park", model="voices/bo"))]))

    rows = [a for a, _ in await gateway.read_model.production_assets("lighthouse")]
    overview = cast_overview("lighthouse", rows, casting)
    assert [(m.kind, m.name) for m in overview.members] == [("character", "MARA"), ("place", "the pier"), ("character", "TOM")]
    mara = overview.members[0]
    assert mara.keeps is not None and (mara.keeps.asset_id, mara.keeps.version) == ("reference-j1-c1-front", 1)
    assert [r.view for r in mara.references] == [ReferenceView.PROFILE, ReferenceView.FRONT], "newest first"
    assert mara.frames == ["frame-j2-s1-shot1"] and mara.stale_frames == [] and [e.voice for e in mara.voices] == [ModelVoice(speaker=2)]
    assert overview.members[1].keeps is None, "the pier's view is not approved"
    assert overview.members[1].frames == ["frame-j2-s1-shot1"], "a frame drawn with the place's view"
    assert overview.members[2].references == [] and overview.unconsented == ["Bo Park"], "TOM is cast as a voice only"

    await reference(gateway, "reference-j1-c1-front", "MARA", ReferenceView.FRONT, 2, minutes=5)
    await approve(gateway, "reference-j1-c1-front", 2)
    rows = [a for a, _ in await gateway.read_model.production_assets("lighthouse")]
    mara = cast_overview("lighthouse", rows, casting).members[0]
    assert mara.keeps is not None and mara.keeps.version == 2 and mara.stale_frames == ["frame-j2-s1-shot1"]
