"""Running a Helix service process: logging, tracing, metrics, start, wait for SIGTERM, stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Protocol

import structlog

from helix.logs import configure_logging
from helix.metrics import serve_metrics
from helix.settings import HelixSettings
from helix.telemetry import setup_tracing


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def run_service(settings: HelixSettings, make: Callable[[HelixSettings], Service]) -> None:
    """Serve until SIGTERM/SIGINT (what Kubernetes sends), then stop cleanly."""

    async def serve() -> None:
        configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
        setup_tracing(settings)
        if settings.metrics_port:
            serve_metrics(settings.metrics_port)
        service = make(settings)
        await service.start()
        structlog.get_logger("helix").info("service.started", service=settings.service_name)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await service.stop()

    asyncio.run(serve())
