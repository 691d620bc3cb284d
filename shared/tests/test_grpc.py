"""The generated gRPC contracts and the standard health service on a real server."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from helix.grpc import NOT_SERVING, SERVING, create_server
from helix.v1 import common_pb2, common_pb2_grpc


async def test_health_and_server_info() -> None:
    server, port, health = create_server("review", models={"screening": "none"})
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            probe = health_pb2_grpc.HealthStub(channel)
            await health.set("helix.review", SERVING)
            reply = await probe.Check(health_pb2.HealthCheckRequest(service="helix.review"))
            assert reply.status == SERVING
            await health.set("helix.review", NOT_SERVING)
            reply = await probe.Check(health_pb2.HealthCheckRequest(service="helix.review"))
            assert reply.status == NOT_SERVING
            info = await common_pb2_grpc.ServerInfoStub(channel).Describe(common_pb2.DescribeRequest())
            assert info.service == "review" and dict(info.models) == {"screening": "none"}
    finally:
        await server.stop(None)


def test_generated_messages_round_trip() -> None:
    ref = common_pb2.AssetRef(asset_id="a1", production_id="p1", kind="frame", version=2)
    assert common_pb2.AssetRef.FromString(ref.SerializeToString()) == ref
