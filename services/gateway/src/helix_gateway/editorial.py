"""Editorial hand-off: an approved animatic as an OpenTimelineIO timeline an editor opens in
their own tools (Resolve reads `.otio`/`.otioz`, Premiere FCP 7 XML, Avid AAF or a CMX 3600 EDL).

The timeline is built from the animatic's plan (`helix.documents.AnimaticPlan`: each shot's
approved frame version and where it sits) and the read model's record of each version: a
video track of shots, an audio track for the dub and one for the source voice, and the
subtitle cues as markers on the dub's track. Every clip's metadata (`metadata["helix"]`)
names the asset version it is, who approved it (decision id, reviewer), its C2PA manifest,
the consents it relies on, and whether a model or a person made it. The writers are
OpenTimelineIO's own adapters; nothing here writes a file format by hand. An approved
screenplay goes to a writer's tools the same way: its Fountain as Final Draft FDX, written by
screenplain."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import opentimelineio as otio

from helix.documents import AnimaticPlan, VersionRef

Format = Literal["otio", "otioz", "fcp_xml", "edl", "aaf"]
# format -> (OpenTimelineIO adapter, media type, file extension)
FORMATS: dict[str, tuple[str, str, str]] = {
    "otio": ("otio_json", "application/vnd.opentimelineio+json", "otio"),
    "otioz": ("otioz", "application/vnd.opentimelineio+zip", "otioz"),
    "fcp_xml": ("fcp_xml", "application/xml", "xml"),
    "edl": ("cmx_3600", "text/plain", "edl"),
    "aaf": ("AAF", "application/vnd.aaf", "aaf"),
}


@dataclass(frozen=True)
class Approval:
    decision_id: str | None
    reviewer: str | None
    decided_at: str | None


@dataclass(frozen=True)
class SourceMedia:
    """One asset version on the timeline, as the read model and its sidecar record it."""

    ref: VersionRef
    kind: str
    url: str  # where an editor's tool finds the media (a local path inside an .otioz bundle)
    authorship: str
    approval: Approval
    c2pa_manifest: str | None = None
    consents: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {"helix": {"asset_id": self.ref.asset_id, "version": self.ref.version, "kind": self.kind, "authorship": self.authorship,
                          "approval": {"decision_id": self.approval.decision_id, "reviewer": self.approval.reviewer,
                                       "decided_at": self.approval.decided_at},
                          "c2pa_manifest": self.c2pa_manifest, "consents": list(self.consents)}}


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _time(seconds: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(round(seconds * rate), rate)


def _clip(name: str, media: SourceMedia, seconds: float, rate: float) -> otio.schema.Clip:
    reference = otio.schema.ExternalReference(target_url=media.url, available_range=otio.opentime.TimeRange(
        _time(0, rate), _time(seconds, rate)))
    reference.name = str(media.ref)
    # An EDL's reel is eight characters: the shot's name, not the start of a URL ('s1-shot2' -> S1SHOT2).
    reel = re.sub(r"[^A-Za-z0-9]", "", name).upper()[:8] or "AX"
    return otio.schema.Clip(name=name, media_reference=reference, source_range=otio.opentime.TimeRange(_time(0, rate), _time(seconds, rate)),
                            metadata={**media.metadata(), "cmx_3600": {"reel": reel}, "AAF": {"MobID": mob_id(media.ref)}})


def mob_id(ref: VersionRef) -> str:
    """The AAF source MobID of an asset version: the same in every export of it, so an Avid
    project that imported one cut relinks the next to the same media."""
    import uuid

    from aaf2.mobid import MobID

    found = MobID.new()
    found.material = uuid.uuid5(uuid.NAMESPACE_URL, f"helix:{ref}")
    return str(found.urn)


def animatic_timeline(name: str, plan: AnimaticPlan, media: dict[str, SourceMedia], rate: float, cues: list[Cue] | None = None,
                      animatic: SourceMedia | None = None) -> otio.schema.Timeline:
    """The animatic's cut as a timeline at `rate` frames a second; `media` holds each version
    the plan names (by `str(VersionRef)`)."""
    timeline = otio.schema.Timeline(name=name, global_start_time=_time(0, rate),
                                    metadata={"helix": {"production_id": plan.production_id, "locale": plan.locale,
                                                        "localization_job": plan.localization_job, "script": str(plan.script),
                                                        **({"animatic": animatic.metadata()["helix"]} if animatic else {})}})
    picture = otio.schema.Track(name="Picture", kind=otio.schema.TrackKind.Video)
    at = 0
    for cut in plan.cuts:
        start, end = round(cut.start * rate), round(cut.end * rate)
        if start > at:
            picture.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(_time(0, rate), otio.opentime.RationalTime(start - at, rate))))
        frames = end - max(start, at)
        clip = _clip(cut.shot_id, media[str(cut.clip or cut.frame)], frames / rate, rate)  # the shot moving, or its frame held
        clip.metadata["helix"]["scene_id"] = cut.scene_id
        if cut.clip is not None:
            clip.metadata["helix"]["moves_frame"] = {"asset_id": cut.frame.asset_id, "version": cut.frame.version}
        picture.append(clip)
        at = max(start, at) + frames
    timeline.tracks.append(picture)
    dub = otio.schema.Track(name=f"Dub {plan.locale}", kind=otio.schema.TrackKind.Audio)
    dub.append(_clip(f"dub {plan.locale}", media[str(plan.dub)], plan.duration, rate))
    for n, cue in enumerate(cues or [], start=1):
        dub.markers.append(otio.schema.Marker(
            name=cue.text, marked_range=otio.opentime.TimeRange(_time(cue.start, rate), _time(cue.end - cue.start, rate)),
            color=otio.schema.MarkerColor.YELLOW, metadata={"helix": {"subtitle": n, "locale": plan.locale}}))
    timeline.tracks.append(dub)
    if plan.source_voice is not None:
        source = otio.schema.Track(name=f"Original {plan.source_locale}", kind=otio.schema.TrackKind.Audio)
        source.append(_clip(f"original {plan.source_locale}", media[str(plan.source_voice)], plan.duration, rate))
        timeline.tracks.append(source)
    return timeline


@dataclass(frozen=True)
class StandingShot:
    """One shot of an approved storyboard in the cut as it stands: its newest approved frame, or none yet."""

    scene_id: str
    shot_id: str
    seconds: float
    storyboard: VersionRef
    frame: SourceMedia | None


def standing_cut(name: str, production_id: str, script: VersionRef, shots: list[StandingShot], rate: float) -> otio.schema.Timeline:
    """The production's cut as it stands, before any animatic: every shot of its approved
    storyboards in script order, each held for the storyboard's duration, on its newest approved
    frame; a shot with none yet is a gap with a marker saying so, so the editor sees the hole."""
    timeline = otio.schema.Timeline(name=name, global_start_time=_time(0, rate),
                                    metadata={"helix": {"production_id": production_id, "script": str(script), "as_it_stands": True}})
    picture = otio.schema.Track(name="Picture", kind=otio.schema.TrackKind.Video)
    at, scene = 0.0, None
    for shot in shots:
        if shot.frame is not None:
            item: otio.core.Item = _clip(shot.shot_id, shot.frame, shot.seconds, rate)
        else:
            item = otio.schema.Gap(name=shot.shot_id, source_range=otio.opentime.TimeRange(_time(0, rate), _time(shot.seconds, rate)))
            item.markers.append(otio.schema.Marker(name=f"{shot.shot_id}: no approved frame yet", color=otio.schema.MarkerColor.RED,
                                                   marked_range=otio.opentime.TimeRange(_time(0, rate), _time(shot.seconds, rate))))
        item.metadata["helix"] = {**dict(item.metadata.get("helix", {})), "scene_id": shot.scene_id, "shot_id": shot.shot_id,
                                  "storyboard": str(shot.storyboard)}
        if shot.scene_id != scene:
            timeline.tracks.markers.append(otio.schema.Marker(name=f"scene {shot.scene_id}", color=otio.schema.MarkerColor.BLUE,
                                                              marked_range=otio.opentime.TimeRange(_time(at, rate), _time(0, rate))))
            scene = shot.scene_id
        picture.append(item)
        at += shot.seconds
    timeline.tracks.append(picture)
    return timeline


def write(timeline: otio.schema.Timeline, fmt: str, path: str) -> None:
    """`timeline` in `fmt` at `path`, by OpenTimelineIO's adapter for it (an .otioz bundles the media its clips name)."""
    adapter = FORMATS[fmt][0]
    if fmt == "otioz":
        otio.adapters.write_to_file(timeline, path, adapter_name=adapter,
                                    media_policy=otio.adapters.file_bundle_utils.MediaReferencePolicy.ErrorIfNotFile)
    else:
        otio.adapters.write_to_file(timeline, path, adapter_name=adapter)


def fdx_from_fountain(text: str) -> bytes:
    """A Fountain screenplay as Final Draft FDX (scene headings, action, characters,
    parentheticals, dialogue, transitions), by screenplain's exporter."""
    import io

    from screenplain.export.fdx import to_fdx
    from screenplain.parsers import fountain

    out = io.StringIO()
    to_fdx(fountain.parse(io.StringIO(text)), out)
    return out.getvalue().encode("utf-8")
