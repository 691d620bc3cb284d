"""gRPC servers for Helix services: the standard health service and `ServerInfo` on each.

Kubernetes probes use the standard health service (grpc.health.v1); contracts live in
`shared/proto/helix/v1/` and their Python code is generated at install time.
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from helix import __version__
from helix.v1 import common_pb2, common_pb2_grpc


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
