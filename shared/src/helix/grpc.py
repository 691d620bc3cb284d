"""gRPC servers for Helix services: the standard health service and `ServerInfo` on each.

Kubernetes probes use the standard health service (grpc.health.v1); contracts live in
`shared/proto/helix/v1/` and their Python code is generated at install time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from helix import __version__
from helix.models import EngineStopped
from helix.v1 import common_pb2, common_pb2_grpc

log = structlog.get_logger("helix.grpc")


class ServerInfoServicer(common_pb2_grpc.ServerInfoServicer):
    def __init__(self, service: str, models: dict[str, str] | None = None) -> None:
        self.service = service
        self.models = models or {}

    async def Describe(self, request: common_pb2.DescribeRequest, context: grpc.aio.ServicerContext) -> common_pb2.DescribeResponse:  # noqa: N802
        return common_pb2.DescribeResponse(service=self.service, version=__version__, models=self.models)


def create_server(service: str, *, address: str = "127.0.0.1:0", models: dict[str, str] | None = None) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """An asyncio gRPC server with health + ServerInfo; add your servicers, then `start()`.

    Returns the server, the bound port and the health servicer (mark services
    SERVING/NOT_SERVING on it as the service's readiness changes).
    """
    server = grpc.aio.server()
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    common_pb2_grpc.add_ServerInfoServicer_to_server(ServerInfoServicer(service, models), server)
    port = server.add_insecure_port(address)
    return server, port, health_servicer


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def start_server(service: str, *, address: str, models: dict[str, str], add: Callable[[grpc.aio.Server], object]) -> tuple[grpc.aio.Server, str]:
    """Create, fill (`add` registers the service's servicers), start and mark SERVING; returns
    the server and the address it listens on (the real port when `address` ends in `:0`)."""
    server, port, health = create_server(service, address=address, models=models)
    add(server)
    await server.start()
    await health.set("", SERVING)
    return server, f"{address.rsplit(':', 1)[0]}:{port}"


async def abort_for(context: grpc.aio.ServicerContext, exc: BaseException, *, service: str) -> NoReturn:
    """End a call with the status a failure means to the caller: PERMISSION_DENIED, INVALID_ARGUMENT
    (with the reason), UNAVAILABLE (the engine is stopping: retry elsewhere) or INTERNAL (no internals)."""
    if isinstance(exc, PermissionError):
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
    from helix.generation.jobs import JobRefused

    if isinstance(exc, ValueError | JobRefused):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    if isinstance(exc, EngineStopped):
        await context.abort(grpc.StatusCode.UNAVAILABLE, f"the {service} service is stopping; retry on another replica")
    log.error("rpc failed", service=service, error=repr(exc))
    await context.abort(grpc.StatusCode.INTERNAL, f"{service} failed")
    raise AssertionError("unreachable")  # context.abort raises


async def cancel_all(tasks: Iterable[asyncio.Task]) -> None:
    """Cancel tasks and wait until they are gone (what a stream leaves behind when it ends)."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def bearer_principal(context: grpc.aio.ServicerContext, verifier: Any) -> Any:
    """The caller of a stream people call directly, from `authorization: Bearer <token>`
    metadata (the gateway's tokens); raises `helix.auth.InvalidToken`."""
    from helix.auth import InvalidToken

    metadata = dict(context.invocation_metadata() or ())
    scheme, _, token = str(metadata.get("authorization", "")).partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("send the gateway's bearer token as `authorization: Bearer <token>` metadata")
    return verifier.verify(token.strip())


async def authorize(context: grpc.aio.ServicerContext, verifier: Any, *roles: Any, what: str) -> Any:
    """The verified caller holding one of `roles`; aborts with UNAUTHENTICATED / PERMISSION_DENIED."""
    from helix.auth import InvalidToken

    try:
        principal = bearer_principal(context, verifier)
    except InvalidToken as exc:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
    if not principal.has_any(*roles):
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"{what} is for {' and '.join(str(r) for r in roles)} roles")
    return principal
