"""Gateway settings: the HELIX_* environment, like every Helix process, plus its own."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from helix.settings import HelixSettings, infra_env_file


class GatewaySettings(HelixSettings):
    service_name: str = "gateway"
    review_grpc_address: str = "127.0.0.1:50061"
    # Every call to the review service has a deadline: a person is waiting on the answer.
    review_timeout_s: float = Field(10.0, gt=0, le=300)
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    presign_seconds: int = Field(300, ge=1)
    # Live event stream: events buffered per subscriber before a slow one is dropped.
    sse_queue_size: int = Field(256, ge=1, le=100_000)
    sse_ping_seconds: float = Field(15.0, gt=0)
    # Request bodies above this are refused (413) before they are read.
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024)


def load_gateway_settings(**overrides: Any) -> GatewaySettings:
    """Settings from the environment, then `.helix/infra.env`, then defaults."""
    env_file = infra_env_file()
    return GatewaySettings(_env_file=env_file if env_file.is_file() else None, **overrides)
