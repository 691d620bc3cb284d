"""`helix-writer`: run the writer service until SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from helix.logs import configure_logging
from helix.metrics import serve_metrics
from helix.telemetry import setup_tracing
from helix_writer.app import WriterApp
from helix_writer.settings import load_writer_settings


async def serve() -> None:
    settings = load_writer_settings()
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    setup_tracing(settings)
    if settings.metrics_port:
        serve_metrics(settings.metrics_port)
    app = WriterApp(settings)
    await app.start()
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
