"""Probes and metrics, without authentication: Kubernetes and Prometheus call them."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from helix.bus.health import BROKER
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.state import Gateway

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz", summary="Liveness: the process serves HTTP")
async def healthz() -> Liveness:
    return Liveness()


@router.get("/readyz", summary="Readiness: the read model's database answers, the bus is connected and the broker reachable", responses=problem_responses(503))
async def readyz(gw: Gateway) -> Readiness:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(gw.read_model.ping(), timeout=5)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}"
    checks["bus"] = "ok" if gw.bus_ready.is_set() else "connecting"
    if BROKER.reachable is False:  # the probe, or the clients' own errors, say the broker is away
        checks["broker"] = BROKER.describe()
    failing = {k: v for k, v in checks.items() if v != "ok"}
    if failing:
        raise ProblemError(503, "not ready: " + ", ".join(f"{k} {v}" for k, v in failing.items()))
    return Readiness(status="ready", checks=checks)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
