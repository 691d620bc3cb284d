"""An approved animatic for an editor's tools (`editorial.py`): `.otio`, an `.otioz` bundle with
its media, FCP 7 XML, AAF or a CMX 3600 EDL, each written by OpenTimelineIO's own adapter; an
approved screenplay (its Fountain) for a writer's, as Final Draft FDX. Only what a person
approved leaves: nothing goes to an editor or a writer that no person approved."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import opentimelineio as otio
import structlog
from fastapi import APIRouter, Query, Request, Response

from helix.documents import AnimaticPlan, ScriptDocument, StoryboardDocument, VersionRef
from helix.events import AssetKind, FrameSummary, VoiceoverSummary
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix_gateway.editorial import (
    FORMATS,
    Approval,
    Cue,
    Format,
    SourceMedia,
    StandingShot,
    animatic_timeline,
    fdx_from_fountain,
    standing_cut,
    write,
)
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.readmodel.tables import Asset
from helix_gateway.state import Gateway, GatewayState, VisibleAsset, VisibleProduction

router = APIRouter(tags=["assets"], responses=problem_responses(401, 403, 422))
log = structlog.get_logger()
STANDING_RATE = 24.0  # frames a second of the cut as it stands (an animatic keeps its own)
EXTENSIONS = {"image/png": "png", "audio/wav": "wav", "audio/flac": "flac", "text/vtt": "vtt", "video/mp4": "mp4"}


@router.get("/assets/{asset_id}/editorial", summary="An approved animatic as an editorial timeline (OTIO, OTIOZ, FCP 7 XML, AAF, EDL)",
            response_class=Response, responses={**problem_responses(404, 409, 422, 502),
                                                200: {"content": {media: {} for _, media, _ in FORMATS.values()}}})
async def editorial_export(
    found: VisibleAsset, gw: Gateway, request: Request,
    format: Annotated[Format, Query(description="otio, otioz (media bundled), fcp_xml (Premiere), aaf or edl (CMX 3600) (Avid)")] = "otio",
) -> Response:
    animatic, _ = found
    generated = animatic.generated()
    if animatic.kind != AssetKind.ANIMATIC.value or generated is None:
        raise ProblemError(422, f"{animatic.asset_id} is not an animatic: only an animatic's cut exports as a timeline")
    if animatic.review_status != "approved":
        raise ProblemError(409, f"{animatic.asset_id} version {animatic.version} is not approved: nothing goes to an editor before a "
                                "person approves it")
    plan = AnimaticPlan.model_validate(generated.inputs["plan"])
    rate = float(generated.parameters.get("frame_rate", 24))
    with tempfile.TemporaryDirectory(prefix="helix-editorial-") as folder:
        work = Path(folder)
        bundle = work / "media" if format == "otioz" else None
        refs = [c.clip or c.frame for c in plan.cuts] + [r for r in (plan.dub, plan.source_voice) if r is not None]
        media = {str(ref): await _source(gw, request, ref, bundle) for ref in dict.fromkeys(refs)}
        cues = await _cues(gw, plan.subtitles) if plan.subtitles is not None else []
        own = await _source(gw, request, VersionRef(asset_id=animatic.asset_id, version=animatic.version), None)
        timeline = animatic_timeline(f"{animatic.asset_id} v{animatic.version}", plan, media, rate, cues, own)
        return await _written(timeline, format, work / f"{animatic.asset_id}-v{animatic.version}.{FORMATS[format][2]}", animatic.asset_id)


@router.get("/productions/{production_id}/editorial", summary="The cut as it stands: every approved storyboard's shots on their "
            "newest approved frames, as an editorial timeline", response_class=Response,
            responses={**problem_responses(404, 409, 422, 502), 200: {"content": {media: {} for _, media, _ in FORMATS.values()}}})
async def standing_cut_export(
    production: VisibleProduction, gw: Gateway, request: Request,
    format: Annotated[Format, Query(description="otio, otioz (media bundled), fcp_xml (Premiere), aaf or edl (CMX 3600) (Avid)")] = "otio",
) -> Response:
    """Before any animatic: the approved script's scenes in order, each approved storyboard's
    shots held for their durations, each on its newest approved frame. A shot with no approved
    frame yet is a gap with a marker saying so."""
    pid = production.production_id
    rows = [asset for asset, _ in await gw.read_model.production_assets(pid)]
    approved = [r for r in rows if r.review_status == "approved" and r.object_key is not None and r.event is not None]
    scripts = [(r, part) for r in approved if (part := ScriptAssetId.parse(r.asset_id)) is not None and part.part is ScriptPart.SCRIPT]
    if not scripts:
        raise ProblemError(409, f"production {pid} has no approved script yet: the cut follows the approved script's scenes")
    script_row, script_part = max(scripts, key=lambda found: (found[0].created_at, found[0].version))
    script = ScriptDocument.model_validate_json(await _bytes(gw, script_row)).content
    newest = {r.asset_id: r for r in sorted(approved, key=lambda r: r.version)}  # each asset's newest approved version
    frames: dict[tuple[str, str], Asset] = {}  # (storyboard, shot) -> its newest approved frame
    for row in sorted((r for r in approved if r.kind == AssetKind.FRAME.value), key=lambda r: r.created_at):
        generated = row.generated()
        summary = generated.typed_summary() if generated is not None else None
        if isinstance(summary, FrameSummary) and summary.shot_id and generated is not None:
            for parent in generated.parent_asset_ids:
                frames[(parent, summary.shot_id)] = row
    with tempfile.TemporaryDirectory(prefix="helix-editorial-") as folder:
        work = Path(folder)
        bundle = work / "media" if format == "otioz" else None
        shots: list[StandingShot] = []
        for scene in script.scenes:
            board_id = str(ScriptAssetId(script_part.script_id, ScriptPart.STORYBOARD, scene.scene_id))
            board_row = newest.get(board_id)
            if board_row is None:
                continue  # a scene without an approved storyboard is not in the cut yet
            board = StoryboardDocument.model_validate_json(await _bytes(gw, board_row)).content
            board_ref = VersionRef(asset_id=board_id, version=board_row.version)
            for shot in board.shots:
                frame = frames.get((board_id, shot.shot_id))
                media = await _source(gw, request, VersionRef(asset_id=frame.asset_id, version=frame.version), bundle) if frame else None
                shots.append(StandingShot(scene_id=scene.scene_id, shot_id=shot.shot_id, seconds=float(shot.duration_s),
                                          storyboard=board_ref, frame=media))
        if not shots:
            raise ProblemError(409, f"production {pid} has no approved storyboard yet: there is no cut to export")
        timeline = standing_cut(f"{pid} as it stands", pid, VersionRef(asset_id=script_row.asset_id, version=script_row.version), shots,
                                STANDING_RATE)
        return await _written(timeline, format, work / f"{pid}-cut.{FORMATS[format][2]}", pid)


async def _written(timeline: otio.schema.Timeline, format: str, out: Path, what: str) -> Response:
    try:
        await asyncio.to_thread(write, timeline, format, str(out))
    except Exception as exc:  # an adapter that cannot say this timeline (an EDL's limits, say)
        log.warning("gateway.editorial_failed", what=what, format=format, error=repr(exc)[:300])
        raise ProblemError(422, f"the {format} adapter could not write this timeline: {type(exc).__name__}: {exc}"[:500]) from None
    return Response(content=out.read_bytes(), media_type=FORMATS[format][1], headers={"Content-Disposition": f'attachment; filename="{out.name}"'})


async def _bytes(gw: GatewayState, row: Asset) -> bytes:
    try:
        return await asyncio.to_thread(gw.store.get, row.object_key or "")
    except Exception as exc:
        log.warning("gateway.editorial_unreadable", asset_id=row.asset_id, error=repr(exc)[:300])
        raise ProblemError(502, f"{row.asset_id} version {row.version} could not be read from the asset store") from None


@router.get("/assets/{asset_id}/screenplay", summary="An approved screenplay (Fountain) as Final Draft FDX",
            response_class=Response, responses={**problem_responses(404, 409, 422, 502), 200: {"content": {"application/xml": {}}}})
async def screenplay_export(found: VisibleAsset, gw: Gateway) -> Response:
    script, _ = found
    if script.media_type != "text/x-fountain":
        raise ProblemError(422, f"{script.asset_id} is not a Fountain screenplay (the script's fountain part exports as FDX)")
    if script.review_status != "approved":
        raise ProblemError(409, f"{script.asset_id} version {script.version} is not approved: nothing goes to a writer's tools before a "
                                "person approves it")
    text = (await _bytes(gw, script)).decode("utf-8")
    name = f"{script.asset_id}-v{script.version}.fdx"
    return Response(content=fdx_from_fountain(text), media_type="application/xml", headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _row(gw: GatewayState, ref: VersionRef) -> Asset:
    found = await gw.read_model.asset(ref.asset_id, ref.version)
    if found is None or found[0].object_key is None:
        raise ProblemError(409, f"{ref} is in the animatic's plan but not in the read model yet; try again shortly")
    return found[0]


async def _source(gw: GatewayState, request: Request, ref: VersionRef, bundle: Path | None) -> SourceMedia:
    row = await _row(gw, ref)
    generated = row.generated()
    sidecar: dict = {}
    try:
        sidecar = await asyncio.to_thread(gw.store.sidecar, row.object_key or "")
    except Exception as exc:  # the manifest id is then unknown: said, not guessed
        log.warning("gateway.editorial_sidecar", asset_id=ref.asset_id, error=repr(exc)[:200])
    summary = generated.typed_summary() if generated is not None else None
    consents = sorted({v.consent for v in summary.voices.values() if v.consent}) if isinstance(summary, VoiceoverSummary) else []
    if bundle is not None:
        bundle.mkdir(exist_ok=True)
        path = bundle / f"{ref.asset_id}-v{ref.version}.{EXTENSIONS.get(row.media_type or '', 'bin')}"
        path.write_bytes(await asyncio.to_thread(gw.store.get, row.object_key or ""))
        url = path.as_uri()
    else:
        url = f"{request.url_for('asset_content', asset_id=ref.asset_id)}?version={ref.version}"
    approval = Approval(decision_id=row.decision_id, reviewer=row.decided_by,
                        decided_at=row.decided_at.isoformat() if row.decided_at else None)
    return SourceMedia(ref=ref, kind=row.kind, url=url, authorship=generated.authorship.value if generated else "ai", approval=approval,
                       c2pa_manifest=((sidecar.get("provenance") or {}).get("c2pa") or {}).get("manifest"), consents=consents)


async def _cues(gw: GatewayState, ref: VersionRef) -> list[Cue]:
    import webvtt

    row = await _row(gw, ref)
    text = (await asyncio.to_thread(gw.store.get, row.object_key or "")).decode()
    return [Cue(start=c.start_time.in_milliseconds() / 1000, end=c.end_time.in_milliseconds() / 1000, text=c.text)
            for c in webvtt.from_string(text).captions]
