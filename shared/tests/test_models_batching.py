"""`helix.models.batching.Batcher`: which queued requests share a call (same key, urgent and
oldest first, closest in size when a size is given), failures and stopping."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import pytest

from helix.models import EngineStopped
from helix.models.batching import BATCH, INTERACTIVE, Batcher, Pending


@dataclass(frozen=True)
class Ask:
    voice: str
    text: str


class Recorder(Batcher[Ask, str]):
    """Records each call's texts; answers each text upper-cased (or fails on "boom")."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(key=lambda a: a.voice, batch_wait_s=0.05, **kwargs)  # type: ignore[arg-type]
        self.calls: list[list[str]] = []

    def run_batch(self, batch: list[Pending[Ask]]) -> list[str]:
        texts = [p.spec.text for p in batch]
        if "boom" in texts:
            raise RuntimeError("the model failed")
        self.calls.append(texts)
        return [t.upper() for t in texts]


async def test_requests_with_the_same_key_share_a_call_and_each_gets_its_own_result() -> None:
    async with Recorder(max_batch=8) as engine:
        results = await asyncio.gather(*(engine.submit(Ask(v, t)) for v, t in [("a", "x"), ("b", "y"), ("a", "z")]))
    assert results == ["X", "Y", "Z"]
    assert sorted(engine.calls) == [["x", "z"], ["y"]]


async def test_a_batch_holds_at_most_max_batch_and_an_interactive_request_goes_first() -> None:
    async with Recorder(max_batch=2) as engine:
        batch = [engine.submit(Ask("a", t)) for t in "pqrs"]
        urgent = engine.submit(Ask("a", "now"), priority=INTERACTIVE)
        await asyncio.gather(*batch, urgent)
    assert engine.calls[0][0] == "now" and all(len(c) <= 2 for c in engine.calls)
    assert BATCH > INTERACTIVE


async def test_with_a_size_the_oldest_is_joined_by_the_requests_closest_to_its_size() -> None:
    engine = Recorder(max_batch=2, size=lambda a: len(a.text))
    async with engine:
        texts = ["aaaa", "b" * 40, "c" * 41, "dddd"]
        await asyncio.gather(*(engine.submit(Ask("v", t)) for t in texts))
    assert engine.calls == [["aaaa", "dddd"], ["b" * 40, "c" * 41]], "short with short, long with long: less padding"


async def test_a_failed_call_fails_each_of_its_requests_and_the_engine_goes_on() -> None:
    async with Recorder(max_batch=8) as engine:
        failed = await asyncio.gather(engine.submit(Ask("a", "boom")), engine.submit(Ask("a", "ok")), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in failed)
        assert await engine.submit(Ask("a", "later")) == "LATER"


async def test_a_stopped_engine_refuses_work() -> None:
    engine = Recorder(max_batch=8)
    with pytest.raises(EngineStopped):
        await engine.submit(Ask("a", "x"))
    await engine.start()
    await engine.stop()
    with pytest.raises(EngineStopped):
        await engine.submit(Ask("a", "x"))


class Meeting(Batcher[Ask, str]):
    """Each call waits (up to 5 s) for another call to be running at the same time."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(key=lambda a: a.voice, batch_wait_s=0.0, **kwargs)  # type: ignore[arg-type]
        self.both = threading.Barrier(2, timeout=5)
        self.met: list[bool] = []

    def run_batch(self, batch: list[Pending[Ask]]) -> list[str]:
        try:
            self.both.wait()
            self.met.append(True)
        except threading.BrokenBarrierError:
            self.met.append(False)
        return [p.spec.text for p in batch]


async def test_with_two_workers_two_calls_run_at_once_and_each_request_gets_its_result() -> None:
    async with Meeting(max_batch=1, workers=2) as engine:
        results = await asyncio.gather(engine.submit(Ask("a", "x")), engine.submit(Ask("b", "y")))
    assert results == ["x", "y"] and engine.met == [True, True]


async def test_with_one_worker_calls_run_one_at_a_time() -> None:
    engine = Meeting(max_batch=1)
    engine.both = threading.Barrier(2, timeout=0.3)
    async with engine:
        results = await asyncio.gather(engine.submit(Ask("a", "x")), engine.submit(Ask("b", "y")))
    assert results == ["x", "y"] and engine.met == [False, False]


def test_an_engine_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        Recorder(max_batch=1, workers=0)
