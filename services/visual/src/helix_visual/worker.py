"""`WorkerImageEngine`: the image engine with its pipelines in a worker process of its own.

The same engine as `engine.ImageEngine` (queue, priorities, batching, steps, cancellation),
but each batch is drawn in a child process that loaded the pipelines itself: a denoising
loop runs Python between its torch operations and holds its process's GIL, and in the
service's process the event loop waited for it at every handoff (a decision took seconds to
become an accepted job). The service keeps only what it needs to know of each pipeline
(`PipelineFacts`: provenance, limits, its prompt tokenizer).

The parent and its worker talk over one pipe, one batch at a time:

    parent                                   worker
    ("batch", n, [ImageSpec, ...])  ──────▶  draws them
                                    ◀──────  ("step", n, step, total)   after each step
    ("cancel", n)                   ──────▶  stops at the next step     (every caller gave up)
                                    ◀──────  ("done", n, [(mode, size, pixels)], seconds)
                                             or ("error", n, exception)

A worker that dies (killed, out of memory) fails its batch; the next batch starts a new one.
The worker ends with the service, even on `kill -9` (`helix.processes.exit_with_parent`), and
is forked from a fork server that imported torch and diffusers once (`PRELOAD`).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from multiprocessing.connection import Connection
from typing import Any

import structlog

from helix.models.batching import Pending
from helix.models.diffusion import LoadedPipeline, PipelineFacts
from helix.processes import forkserver, start_worker
from helix_visual.engine import ImageEngine, ImageResult, ImageSpec, draw, results
from helix_visual.settings import VisualSettings

log = structlog.get_logger("helix.visual.worker")
POLL_S = 0.05  # how often a waiting parent looks at its callers (a cancellation to pass on)
# Imported once by the fork server: a worker started again (after a crash) loads only its weights.
PRELOAD = ["torch", "diffusers", "diffusers.pipelines.auto_pipeline", "helix_visual.pipelines", "helix_visual.worker"]
__all__ = ["WorkerDied", "WorkerImageEngine"]


class WorkerDied(RuntimeError):
    """The worker process ended while drawing (killed, out of memory): its batch failed."""


class WorkerImageEngine(ImageEngine):
    def __init__(self, settings: VisualSettings, *, max_batch: int = 8, max_queue: int = 64, batch_wait_s: float = 0.01) -> None:
        """Starts the worker and waits until its pipelines are loaded (as loading them here would)."""
        super().__init__({}, max_batch=max_batch, max_queue=max_queue, batch_wait_s=batch_wait_s)
        self.settings = settings
        self.speedups: dict[str, list[str]] = {}
        self._lock = threading.Lock()  # one batch on the pipe at a time
        self._batches = itertools.count(1)
        self._process: Any = None
        self._conn: Connection | None = None
        self._launch()

    def _launch(self) -> None:
        context = forkserver(PRELOAD)
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child, self.settings, dict(os.environ)), name="helix-visual-worker", daemon=True)
        process.start()
        child.close()
        message = _receive(parent, process)
        if message[0] != "ready":
            process.join(5)
            raise WorkerDied(f"the image worker could not load its pipelines: {message[1]}")
        _, self.models, self.speedups = message
        self._process, self._conn = process, parent
        log.info("worker.ready", pid=process.pid, models=sorted(self.models))

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def run_batch(self, batch: list[Pending[ImageSpec]]) -> list[ImageResult]:
        """Worker thread: the batch drawn by the worker process; its steps and a cancellation passed across."""
        with self._lock:
            if self._process is None or not self._process.is_alive():
                log.warning("worker.restarting", pid=self.pid)
                self._launch()
            assert self._conn is not None
            number = next(self._batches)
            self._conn.send(("batch", number, [r.spec for r in batch]))
            told_to_stop = False
            while True:
                if not told_to_stop and all(r.cancelled for r in batch):
                    self._conn.send(("cancel", number))
                    told_to_stop = True
                if not self._conn.poll(POLL_S):
                    if not self._process.is_alive():
                        raise WorkerDied(f"the image worker (pid {self._process.pid}) ended while drawing, "
                                         f"exit code {self._process.exitcode}")
                    continue
                message = _receive(self._conn, self._process)
                if message[1] != number:
                    continue  # what is left of an earlier batch
                if message[0] == "step":
                    for request in batch:
                        request.report_step(message[2], message[3])
                elif message[0] == "done":
                    from PIL import Image

                    images = [Image.frombytes(mode, size, pixels) for mode, size, pixels in message[2]]
                    return results(batch, images, message[3])
                else:
                    raise message[2]

    async def stop(self) -> None:
        await super().stop()
        await asyncio.to_thread(self._end)

    def _end(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()  # the worker reads the end of its pipe and returns
            if self._process is not None:
                self._process.join(10)
                if self._process.is_alive():
                    self._process.kill()
                    self._process.join()
            self._process = self._conn = None


def _receive(conn: Connection, process: Any) -> tuple[Any, ...]:
    try:
        message: tuple[Any, ...] = conn.recv()
    except EOFError:
        raise WorkerDied(f"the image worker (pid {process.pid}) ended, exit code {process.exitcode}") from None
    return message


# --- in the worker process -----------------------------------------------------------


def serve(conn: Connection, settings: VisualSettings, environ: dict[str, str]) -> None:
    """The worker process: load the pipelines, then draw each batch the service sends.
    `environ`: the service's environment now (a fork server's is the one it started with)."""
    from helix_visual.pipelines import load_pipelines

    start_worker(settings.bulk_nice, settings.torch_threads or 0, environ)
    try:
        pipelines, speedups = load_pipelines(settings)
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    facts: dict[str, PipelineFacts] = {name: loaded.facts for name, loaded in pipelines.items()}
    conn.send(("ready", facts, speedups))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the service closed the pipe: its engine stopped
        if message[0] == "batch":
            _, number, specs = message
            conn.send(_draw(conn, pipelines, number, specs))


def _draw(conn: Connection, pipelines: dict[str, LoadedPipeline], number: int, specs: list[ImageSpec]) -> tuple[Any, ...]:
    stopped = False

    def on_step(step: int, total: int) -> None:
        conn.send(("step", number, step, total))

    def cancelled() -> bool:
        nonlocal stopped
        while not stopped and conn.poll():
            message = conn.recv()
            stopped = message[0] == "cancel" and message[1] == number
        return stopped

    try:
        images, took = draw(pipelines[specs[0].model], specs, on_step=on_step, cancelled=cancelled)
    except Exception as exc:
        return "error", number, _picklable(exc)
    return "done", number, [(image.mode, image.size, image.tobytes()) for image in images], took


def _picklable(exc: Exception) -> Exception:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
