"""Running a Helix service process: logging, tracing, metrics, start, wait for SIGTERM, stop."""

from __future__ import annotations

import asyncio
import importlib.util
import signal
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import structlog

from helix.logs import configure_logging
from helix.metrics import serve_metrics
from helix.settings import HelixSettings
from helix.telemetry import setup_tracing

S = TypeVar("S", bound=HelixSettings)


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def run_service(settings: S, make: Callable[[S], Service]) -> None:
    """Serve until SIGTERM/SIGINT (what Kubernetes sends), then stop cleanly."""

    async def serve() -> None:
        configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
        setup_tracing(settings)
        if settings.metrics_port:
            serve_metrics(settings.metrics_port)
        limit_threads(settings.torch_threads)
        service = make(settings)
        await service.start()
        structlog.get_logger("helix").info("service.started", service=settings.service_name)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, dump_tasks)  # `kill -USR1 <pid>`: what is this process waiting on?
        await stop.wait()
        await service.stop()

    asyncio.run(serve())


def limit_threads(threads: int | None) -> None:
    """Cap torch's CPU thread pools (a service without torch has none to cap)."""
    if threads is None or importlib.util.find_spec("torch") is None:
        return
    import torch

    torch.set_num_threads(threads)
    structlog.get_logger("helix").info("service.torch_threads", threads=threads)


def dump_tasks() -> None:
    """Log every asyncio task of the process with the line it waits at (an operator's view
    of a service that seems stuck: `kill -USR1 <pid>`)."""
    log = structlog.get_logger("helix")
    for task in asyncio.all_tasks():
        where: list[str] = []
        awaited: Any = task.get_coro()  # a coroutine, a generator-based one, or a future: read by duck typing
        while awaited is not None:  # down the chain of awaits to what the task really waits for
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is None:
                where.append(type(awaited).__name__)
                break
            where.append(f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        log.warning("task.waiting", task=task.get_name(), at=" -> ".join(where)[:3000])
