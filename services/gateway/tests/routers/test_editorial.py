"""An approved animatic for an editor's tools: each export is read back by OpenTimelineIO's own
adapters with the same shots, ranges and (where the format keeps it) metadata; the .otioz
bundle carries the media; an animatic nobody approved, or another kind of asset, is refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import opentimelineio as otio
import pytest

from helix.documents import AnimaticCut, AnimaticPlan, ScriptDocument, StoryboardDocument, VersionRef
from helix.events import Actor, FrameSummary, ReviewApproved, SpokenVoice, VoiceoverSummary
from helix.story import SceneScript, Script, Shot, Storyboard
from helix_gateway.editorial import mob_id
from helix_gateway.state import GatewayState

from ..conftest import add_asset, add_production, auth, later

DANA = auth("dana", "director", productions=["lighthouse"])
VTT = b"WEBVTT\n\n1\n00:00:00.500 --> 00:00:01.750\nLight it.\n\n2\n00:00:02.000 --> 00:00:03.000\nNow.\n"
PLAN = AnimaticPlan(production_id="lighthouse", localization_job="loc-1", locale="de-DE", script=VersionRef(asset_id="script-j-script", version=1),
                    source_locale="en", duration=3.5, dub=VersionRef(asset_id="loc-de-dub", version=1),
                    subtitles=VersionRef(asset_id="loc-de-vtt", version=1), source_voice=VersionRef(asset_id="src-voice", version=1),
                    cuts=[AnimaticCut(scene_id="s1", shot_id="s1-shot1", frame=VersionRef(asset_id="frame-j-s1-shot1", version=2),
                                      start=0.0, end=1.5),
                          AnimaticCut(scene_id="s1", shot_id="s1-shot2", frame=VersionRef(asset_id="frame-j-s1-shot2", version=1),
                                      start=1.5, end=3.5)])


async def approve(gateway: GatewayState, asset_id: str, version: int, kind: str) -> None:
    await gateway.read_model.apply_decision(ReviewApproved(production_id="lighthouse", decision_id=f"d-{asset_id}-{version}", asset_id=asset_id,
                                                           kind=kind, asset_version=version, reviewer=Actor(subject="rhea"),
                                                           decided_at=later(30)), "approved")


async def production(gateway: GatewayState, *, approved: bool = True) -> None:
    for asset_id, version in (("frame-j-s1-shot1", 2), ("frame-j-s1-shot2", 1)):
        for v in range(1, version + 1):
            await add_asset(gateway, asset_id=asset_id, version=v, kind="frame", media_type="image/png", ext="png",
                            content=b"\x89PNG " + f"{asset_id} v{v}".encode())
        await approve(gateway, asset_id, version, "frame")
    voices = VoiceoverSummary(locale="de-DE", voices={"MARA": SpokenVoice(model="voices/ann", speaker=0, performer="Ann Lee",
                                                                         consent="consent-7")})
    await add_asset(gateway, asset_id="loc-de-dub", kind="voiceover", media_type="audio/wav", ext="wav", content=b"RIFF dub",
                    summary=voices.model_dump(mode="json"))
    await add_asset(gateway, asset_id="src-voice", kind="voiceover", media_type="audio/wav", ext="wav", content=b"RIFF source")
    await add_asset(gateway, asset_id="loc-de-vtt", kind="subtitles", media_type="text/vtt", ext="vtt", content=VTT)
    await add_asset(gateway, asset_id="loc-de-animatic", kind="animatic", media_type="video/mp4", ext="mp4", content=b"mp4",
                    inputs={"plan": PLAN.model_dump(mode="json")}, parameters={"frame_rate": 24})
    if approved:
        await approve(gateway, "loc-de-animatic", 1, "animatic")


def shots(timeline: otio.schema.Timeline) -> list[tuple[str, int, int]]:
    return [(c.name, c.source_range.start_time.to_frames(), c.source_range.duration.to_frames()) for c in timeline.video_tracks()[0].find_clips()]


async def test_the_otio_keeps_every_shot_its_range_and_its_approval(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await production(gateway)
    response = await client.get("/assets/loc-de-animatic/editorial", params={"format": "otio"}, headers=DANA)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="loc-de-animatic-v1.otio"'
    timeline = otio.adapters.read_from_string(response.text, "otio_json")  # OpenTimelineIO's own reader
    assert shots(timeline) == [("s1-shot1", 0, 36), ("s1-shot2", 0, 48)]
    first = timeline.video_tracks()[0].find_clips()[0]
    helix = first.metadata["helix"]
    assert (helix["asset_id"], helix["version"], helix["kind"], helix["authorship"]) == ("frame-j-s1-shot1", 2, "frame", "ai")
    assert helix["approval"]["decision_id"] == "d-frame-j-s1-shot1-2" and helix["approval"]["reviewer"] == "rhea"
    assert first.media_reference.target_url.endswith("/assets/frame-j-s1-shot1/content?version=2")
    dub, source = timeline.audio_tracks()
    assert dub.name == "Dub de-DE" and source.name == "Original en"
    assert list(dub.find_clips()[0].metadata["helix"]["consents"]) == ["consent-7"], "the performer's consent the dub relies on"
    assert [(m.name, m.marked_range.start_time.to_frames(), m.marked_range.duration.to_frames()) for m in dub.markers] == \
        [("Light it.", 12, 30), ("Now.", 48, 24)], "the subtitles as markers"
    assert timeline.metadata["helix"]["animatic"]["approval"]["decision_id"] == "d-loc-de-animatic-1"


async def test_the_otioz_bundles_the_media_its_clips_name(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await production(gateway)
    response = await client.get("/assets/loc-de-animatic/editorial", params={"format": "otioz"}, headers=DANA)
    assert response.status_code == 200, response.text
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(bundle.namelist())
    assert {"media/frame-j-s1-shot1-v2.png", "media/frame-j-s1-shot2-v1.png", "media/loc-de-dub-v1.wav", "media/src-voice-v1.wav"} <= names
    assert bundle.read("media/frame-j-s1-shot1-v2.png") == b"\x89PNG frame-j-s1-shot1 v2", "the approved version's bytes"
    timeline = otio.adapters.read_from_string(bundle.read("content.otio").decode(), "otio_json")
    assert shots(timeline) == [("s1-shot1", 0, 36), ("s1-shot2", 0, 48)]
    assert [c.media_reference.target_url for c in timeline.video_tracks()[0].find_clips()] == \
        ["media/frame-j-s1-shot1-v2.png", "media/frame-j-s1-shot2-v1.png"]


@pytest.mark.parametrize(("fmt", "adapter"), [("fcp_xml", "fcp_xml"), ("edl", "cmx_3600")])
async def test_premiere_and_avid_formats_read_back_with_the_same_cut(client: httpx.AsyncClient, gateway: GatewayState, fmt: str,
                                                                     adapter: str) -> None:
    await production(gateway)
    response = await client.get("/assets/loc-de-animatic/editorial", params={"format": fmt}, headers=DANA)
    assert response.status_code == 200, response.text
    timeline = otio.adapters.read_from_string(response.text, adapter, **({"rate": 24} if adapter == "cmx_3600" else {}))
    assert [(name, duration) for name, _, duration in shots(timeline)] == [("s1-shot1", 36), ("s1-shot2", 48)]
    if adapter == "cmx_3600":
        reels = [c.metadata["cmx_3600"]["reel"] for c in timeline.video_tracks()[0].find_clips()]
        assert reels == ["S1SHOT1", "S1SHOT2"], "each shot its own reel, named for the shot"


async def test_the_aaf_reads_back_with_the_same_cut_and_stable_source_mobs(client: httpx.AsyncClient, gateway: GatewayState,
                                                                          tmp_path: Path) -> None:
    await production(gateway)
    response = await client.get("/assets/loc-de-animatic/editorial", params={"format": "aaf"}, headers=DANA)
    assert response.status_code == 200, response.text
    (tmp_path / "cut.aaf").write_bytes(response.content)
    timeline = otio.adapters.read_from_file(str(tmp_path / "cut.aaf"), adapter_name="AAF")  # read back by pyaaf2 through OTIO
    assert [(name, duration) for name, _, duration in shots(timeline)] == [("s1-shot1", 36), ("s1-shot2", 48)]
    assert [c.source_range.duration.to_frames() for track in timeline.audio_tracks() for c in track.find_clips()] == [84, 84]
    again = await client.get("/assets/loc-de-animatic/editorial", params={"format": "otio"}, headers=DANA)
    mobs = [c.metadata["AAF"]["MobID"] for c in otio.adapters.read_from_string(again.text, "otio_json").find_clips()]
    assert mobs == [mob_id(VersionRef(asset_id="frame-j-s1-shot1", version=2)), mob_id(VersionRef(asset_id="frame-j-s1-shot2", version=1)),
                    mob_id(PLAN.dub), mob_id(PLAN.source_voice)] and len(set(mobs)) == 4  # type: ignore[arg-type]


async def test_only_an_approved_animatic_leaves(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await production(gateway, approved=False)
    waiting = await client.get("/assets/loc-de-animatic/editorial", headers=DANA)
    assert waiting.status_code == 409 and "not approved" in waiting.text
    frame = await client.get("/assets/frame-j-s1-shot1/editorial", headers=DANA)
    assert frame.status_code == 422 and "not an animatic" in frame.text
    elsewhere = await client.get("/assets/loc-de-animatic/editorial", headers=auth("rhea", "reviewer", productions=["other"]))
    assert elsewhere.status_code == 403
    assert (await client.get("/assets/loc-de-animatic/editorial", params={"format": "mov"}, headers=DANA)).status_code == 422


FOUNTAIN = """Title: The Lamp

INT. LAMP ROOM - NIGHT

The lamp flickers.

MARA
Light it. Now.

TOM
(quietly)
It is lit.

CUT TO:

EXT. PIER - DAWN

Gulls.
"""


def elements(script: object) -> list[tuple[str, str]]:
    return [(e.type.name, e.text.strip()) for e in script.elements if e.text.strip()]  # type: ignore[attr-defined]


async def test_an_approved_screenplay_opens_in_final_draft_with_every_element(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    from screenplay_tools.fdx.parser import Parser as FdxParser  # an FDX reader Helix did not write
    from screenplay_tools.fountain.parser import Parser as FountainParser

    await add_asset(gateway, asset_id="script-j-fountain", kind="script", content=FOUNTAIN.encode())
    waiting = await client.get("/assets/script-j-fountain/screenplay", headers=DANA)
    assert waiting.status_code == 409 and "not approved" in waiting.text
    await approve(gateway, "script-j-fountain", 1, "script")
    response = await client.get("/assets/script-j-fountain/screenplay", headers=DANA)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="script-j-fountain-v1.fdx"'
    fdx = FdxParser()
    fdx.parse(response.text)
    fountain = FountainParser()
    fountain.add_text(FOUNTAIN)
    fountain.finalize()
    found = elements(fdx.script)
    assert found == elements(fountain.script), "the same scene headings, action, characters, parentheticals, dialogue, transitions"
    assert ("HEADING", "EXT. PIER - DAWN") in found and ("PARENTHETICAL", "quietly") in found and ("TRANSITION", "CUT TO:") in found
    assert [e.name for e in fdx.script.elements if e.type.name == "CHARACTER"] == ["MARA", "TOM"]
    frame = await client.get("/assets/frame-j-s1-shot1/screenplay", headers=DANA)
    assert frame.status_code == 404  # no such asset here; another kind is 422:
    await add_asset(gateway, asset_id="script-j-script", kind="script", media_type="application/json", ext="json", content=b"{}")
    assert (await client.get("/assets/script-j-script/screenplay", headers=DANA)).status_code == 422


async def standing(gateway: GatewayState) -> None:
    """An approved script of two scenes; scene s1's storyboard approved (two shots, one with an
    approved frame), s2's not yet."""
    await add_production(gateway)
    script = Script(production_id="lighthouse", logline="A keeper keeps the light.", title="The Lamp", characters=[], places=[],
                    scenes=[SceneScript(scene_id=s, place="the lamp room", plot_element="exposition", beat="b") for s in ("s1", "s2")])
    await add_asset(gateway, asset_id="script-j-script", kind="script", media_type="application/json", ext="json",
                    content=ScriptDocument(level="script", script_id="script-j", content=script).model_dump_json().encode())
    await approve(gateway, "script-j-script", 1, "script")
    for scene, shots in (("s1", [("s1-shot1", 3), ("s1-shot2", 2)]), ("s2", [("s2-shot1", 4)])):
        board = Storyboard(production_id="lighthouse", script_id="script-j", scene_id=scene, shots=[
            Shot(shot_id=shot, shot_type="wide", camera="static", subjects=[], action="waits", location="the lamp room", duration_s=seconds)
            for shot, seconds in shots])
        await add_asset(gateway, asset_id=f"script-j-storyboard-{scene}", kind="storyboard", media_type="application/json", ext="json",
                        content=StoryboardDocument(level=f"storyboard-{scene}", script_id="script-j", content=board).model_dump_json().encode())
    await approve(gateway, "script-j-storyboard-s1", 1, "storyboard")
    for version in (1, 2):
        await add_asset(gateway, asset_id="frame-j-s1-shot1", version=version, kind="frame", media_type="image/png", ext="png",
                        content=b"\x89PNG shot1 v%d" % version, parent_asset_ids=["script-j-storyboard-s1"],
                        summary=FrameSummary(shot_id="s1-shot1").model_dump(mode="json"), at=later(version))
    await approve(gateway, "frame-j-s1-shot1", 1, "frame")  # v2 waits for review: the cut keeps v1


async def test_the_cut_as_it_stands_holds_each_approved_shot_and_shows_the_holes(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await standing(gateway)
    response = await client.get("/productions/lighthouse/editorial", params={"format": "otio"}, headers=DANA)
    assert response.status_code == 200, response.text
    timeline = otio.adapters.read_from_string(response.text, "otio_json")
    items = list(timeline.video_tracks()[0])
    assert [(i.name, type(i).__name__, i.source_range.duration.to_frames()) for i in items] == \
        [("s1-shot1", "Clip", 72), ("s1-shot2", "Gap", 48)], "s2 has no approved storyboard: not in the cut yet"
    assert (items[0].metadata["helix"]["asset_id"], items[0].metadata["helix"]["version"]) == ("frame-j-s1-shot1", 1)
    assert items[0].metadata["helix"]["storyboard"] == "script-j-storyboard-s1@v1"
    assert [m.name for m in items[1].markers] == ["s1-shot2: no approved frame yet"]
    assert [m.name for m in timeline.tracks.markers] == ["scene s1"]
    bundle = await client.get("/productions/lighthouse/editorial", params={"format": "otioz"}, headers=DANA)
    assert bundle.status_code == 200
    assert "media/frame-j-s1-shot1-v1.png" in zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()


async def test_no_cut_before_an_approved_script_and_storyboard(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway)
    nothing = await client.get("/productions/lighthouse/editorial", headers=DANA)
    assert nothing.status_code == 409 and "no approved script" in nothing.text
