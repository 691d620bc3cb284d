"""An approved animatic for an editor's tools (`editorial.py`): `.otio`, an `.otioz` bundle with
its media, FCP 7 XML, AAF or a CMX 3600 EDL, each written by OpenTimelineIO's own adapter; an
approved screenplay (its Fountain) for a writer's, as Final Draft FDX. Only what a person
approved leaves: nothing goes to an editor or a writer that no person approved."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Request, Response

from helix.documents import AnimaticPlan, VersionRef
from helix.events import AssetKind, VoiceoverSummary
from helix_gateway.editorial import FORMATS, Approval, Cue, Format, SourceMedia, animatic_timeline, fdx_from_fountain, write
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.readmodel.tables import Asset
from helix_gateway.state import Gateway, GatewayState, VisibleAsset

router = APIRouter(tags=["assets"], responses=problem_responses(401, 403, 422))
log = structlog.get_logger()
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
        refs = [c.frame for c in plan.cuts] + [r for r in (plan.dub, plan.source_voice) if r is not None]
        media = {str(ref): await _source(gw, request, ref, bundle) for ref in dict.fromkeys(refs)}
        cues = await _cues(gw, plan.subtitles) if plan.subtitles is not None else []
        own = await _source(gw, request, VersionRef(asset_id=animatic.asset_id, version=animatic.version), None)
        timeline = animatic_timeline(f"{animatic.asset_id} v{animatic.version}", plan, media, rate, cues, own)
        _, media_type, ext = FORMATS[format]
        out = work / f"{animatic.asset_id}-v{animatic.version}.{ext}"
        try:
            await asyncio.to_thread(write, timeline, format, str(out))
        except Exception as exc:  # an adapter that cannot say this timeline (an EDL's limits, say)
            log.warning("gateway.editorial_failed", asset_id=animatic.asset_id, format=format, error=repr(exc)[:300])
            raise ProblemError(422, f"the {format} adapter could not write this timeline: {type(exc).__name__}: {exc}"[:500]) from None
        data = out.read_bytes()
    return Response(content=data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{out.name}"'})


@router.get("/assets/{asset_id}/screenplay", summary="An approved screenplay (Fountain) as Final Draft FDX",
            response_class=Response, responses={**problem_responses(404, 409, 422, 502), 200: {"content": {"application/xml": {}}}})
async def screenplay_export(found: VisibleAsset, gw: Gateway) -> Response:
    script, _ = found
    if script.media_type != "text/x-fountain":
        raise ProblemError(422, f"{script.asset_id} is not a Fountain screenplay (the script's fountain part exports as FDX)")
    if script.review_status != "approved":
        raise ProblemError(409, f"{script.asset_id} version {script.version} is not approved: nothing goes to a writer's tools before a "
                                "person approves it")
    try:
        text = (await asyncio.to_thread(gw.store.get, script.object_key or "")).decode("utf-8")
    except Exception as exc:
        log.warning("gateway.screenplay_unreadable", asset_id=script.asset_id, error=repr(exc)[:300])
        raise ProblemError(502, f"{script.asset_id} version {script.version} could not be read from the asset store") from None
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
