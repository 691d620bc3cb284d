"""`Batcher`: the concurrent model requests of a process, grouped into batched calls.

Callers `await batcher.submit(spec)`. Requests wait in a bounded queue (`max_queue`); when
it is full, `submit` waits before enqueuing, which holds back the Kafka consumer that
called it (backpressure). One task takes the most urgent request (interactive before batch
work, then oldest first) and every queued request with the same `key(spec)`, up to
`max_batch` (with `size`, the ones closest in size to it: a batch is padded to its
longest), and runs them as ONE call of `run_batch` in a worker thread, never on the
event loop. A request whose caller gave up is dropped before it runs; a running request
sees `cancelled` (a batch of only cancelled requests may stop early). `report_step` hands
per-step progress back to the caller on the event loop.

The image, translation and speech engines are Batchers; the writer's text engine has its
own loop, because it streams tokens and shares one `generate` across requests with
different budgets.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Coroutine, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

import structlog

from helix.models import EngineStopped
from helix.threads import bulk_executor

log = structlog.get_logger("helix.models.batching")
S = TypeVar("S")
R = TypeVar("R")
INTERACTIVE, BATCH = 0, 1  # priorities: a person waiting comes first
OnStep = Callable[[int, int], Coroutine[Any, Any, None]]


@dataclass
class BatcherStats:
    submitted: int = 0
    batches: int = 0
    items: int = 0
    largest_batch: int = 0


@dataclass(eq=False)
class Pending(Generic[S]):
    """One queued request, as `run_batch` sees it."""

    spec: S
    priority: int
    order: int
    loop: asyncio.AbstractEventLoop
    on_step: OnStep | None
    future: asyncio.Future
    submitted_at: float = field(default_factory=time.perf_counter)
    cancelled: bool = False
    step_tasks: list[asyncio.Task] = field(default_factory=list)

    def report_step(self, step: int, total: int) -> None:
        """From the worker thread: tell the caller a step is done (no-op without `on_step`)."""
        if self.on_step is not None and not self.cancelled:
            self.loop.call_soon_threadsafe(self._start_step, step, total)

    def _start_step(self, step: int, total: int) -> None:
        assert self.on_step is not None
        self.step_tasks.append(self.loop.create_task(self.on_step(step, total)))


def queue_limits(max_batch: int, max_queue: int, batch_wait_s: float) -> tuple[int, int, float]:
    """An engine's limits, checked: at least one request per call and in the queue."""
    if max_batch < 1 or max_queue < 1:
        raise ValueError("max_batch and max_queue must be at least 1")
    if batch_wait_s < 0:
        raise ValueError("batch_wait_s cannot be negative")
    return max_batch, max_queue, batch_wait_s


class Running:
    """An engine that is started and stopped, also as `async with engine:`."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class Batcher(Running, Generic[S, R]):
    def __init__(self, *, key: Callable[[S], Hashable], max_batch: int = 8, max_queue: int = 64, batch_wait_s: float = 0.01,
                 name: str = "engine", size: Callable[[S], float] | None = None, workers: int = 1) -> None:
        """`key`: which requests can share a call. `size` (optional): how long a request's
        output will be; a batch is padded to its longest, so the oldest request is joined by
        the compatible ones closest to its size rather than by the next in line. `workers`:
        how many calls run at once (each in a thread of its own); one keeps the calls in order."""
        self.max_batch, self.max_queue, self.batch_wait_s = queue_limits(max_batch, max_queue, batch_wait_s)
        if workers < 1:
            raise ValueError("an engine needs at least one worker")
        self.workers = workers
        self.key, self.size, self.name = key, size, name
        self.stats = BatcherStats()
        self._pending: list[Pending[S]] = []
        self._running: list[Pending[S]] = []
        self._space: asyncio.Semaphore | None = None
        self._wake: asyncio.Event | None = None
        self._free: asyncio.Semaphore | None = None  # workers not running a call
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._order = itertools.count()

    def run_batch(self, batch: list[Pending[S]]) -> list[R]:
        """Worker thread: one model call for the batch; one result per request, in order."""
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        self._space = asyncio.Semaphore(self.max_queue)
        self._wake = asyncio.Event()
        self._free = asyncio.Semaphore(self.workers)
        self._executor = bulk_executor(self.workers, f"helix-{self.name}")
        self._task = asyncio.create_task(self._batcher(), name=f"helix-{self.name}")

    async def stop(self) -> None:
        """Stop taking work: queued requests fail with EngineStopped, a running batch is told to stop."""
        task, self._task = self._task, None
        if task is None:
            return
        for request in self._running:
            request.cancelled = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for request in self._pending:
            if not request.future.done():
                request.future.set_exception(EngineStopped(f"the {self.name} stopped before this request ran"))
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    @property
    def queued(self) -> int:
        return len(self._pending)

    # -- API ----------------------------------------------------------------------------
    async def submit(self, spec: S, *, priority: int = BATCH, on_step: OnStep | None = None) -> R:
        """Run one request in some batch; cancelling the caller drops (or stops) it."""
        if self._task is None or self._space is None or self._wake is None:
            raise EngineStopped(f"the {self.name} is not running (call start())")
        loop = asyncio.get_running_loop()
        request: Pending[S] = Pending(spec, priority, next(self._order), loop, on_step, loop.create_future())
        await self._space.acquire()  # waits while the queue is full: backpressure
        self._pending.append(request)
        self.stats.submitted += 1
        self._wake.set()
        try:
            result = await asyncio.shield(request.future)
        except asyncio.CancelledError:
            request.cancelled = True
            raise
        finally:
            if request.step_tasks:
                await asyncio.gather(*request.step_tasks, return_exceptions=True)
        return result

    # -- batching -----------------------------------------------------------------------
    def _take_batch(self) -> list[Pending[S]]:
        live = sorted((r for r in self._pending if not r.cancelled), key=lambda r: (r.priority, r.order))
        dropped = [r for r in self._pending if r.cancelled]
        batch = [] if not live else [r for r in live if self.key(r.spec) == self.key(live[0].spec)]
        if self.size is not None and len(batch) > self.max_batch:
            size, target = self.size, self.size(batch[0].spec)  # the oldest always goes; its neighbours in size join it
            batch = [batch[0], *sorted(batch[1:], key=lambda r: abs(size(r.spec) - target))]
        batch = batch[: self.max_batch]
        for request in (*batch, *dropped):
            self._pending.remove(request)
            assert self._space is not None
            self._space.release()
        for request in dropped:
            if not request.future.done():
                request.future.cancel()
        return batch

    async def _batcher(self) -> None:
        assert self._wake is not None and self._free is not None
        calls: set[asyncio.Task[None]] = set()
        try:
            while True:
                if not self._pending:
                    self._wake.clear()
                    await self._wake.wait()
                if len(self._pending) < self.max_batch and self.batch_wait_s > 0:
                    await asyncio.sleep(self.batch_wait_s)  # let concurrent callers join this batch
                await self._free.acquire()  # a batch is formed when a worker can run it, from what waits then
                batch = self._take_batch()
                if not batch:
                    self._free.release()
                    continue
                self._running.extend(batch)
                self.stats.batches += 1
                self.stats.items += len(batch)
                self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
                call = asyncio.create_task(self._call(batch), name=f"helix-{self.name}-call")
                calls.add(call)
                call.add_done_callback(calls.discard)
        finally:
            for call in list(calls):
                call.cancel()

    async def _call(self, batch: list[Pending[S]]) -> None:
        assert self._free is not None
        try:
            results = await asyncio.get_running_loop().run_in_executor(self._executor, self.run_batch, batch)
            for request, result in zip(batch, results, strict=True):
                if not request.future.done():
                    request.future.set_result(result)
        except Exception as exc:  # the call failed as a whole: each of its requests gets the error
            log.exception("batch failed", engine=self.name, size=len(batch))
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
        finally:
            for request in batch:
                self._running.remove(request)
            self._free.release()
