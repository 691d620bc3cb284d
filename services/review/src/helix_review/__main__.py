"""`helix-review` (or `python -m helix_review`): run the review service until SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import structlog

from helix.logs import configure_logging
from helix.metrics import serve_metrics
from helix.telemetry import setup_tracing
from helix_review.app import ReviewApp
from helix_review.settings import load_review_settings


async def serve() -> None:
    settings = load_review_settings()
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    provider = setup_tracing(settings)
    if settings.metrics_port:
        serve_metrics(settings.metrics_port)
    app = ReviewApp(settings, tracer_provider=provider)
    await app.start()
    structlog.get_logger("helix.review").info("review.started", grpc=app.grpc_address, relay=settings.review_outbox_relay)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await app.stop()


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
