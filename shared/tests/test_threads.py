"""The control path's threads (`helix.threads`): bookkeeping never queues behind bulk work in
asyncio's default pool."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from helix.threads import GIL_SWITCH_S, bulk_executor, control, lower_priority, prioritise_control


async def test_a_control_call_runs_while_the_default_pool_is_full_of_bulk_work() -> None:
    release = threading.Event()
    loop = asyncio.get_running_loop()
    bulk = [loop.run_in_executor(None, release.wait, 10) for _ in range(64)]  # far more than the default pool's threads
    try:
        # on the default pool this call would wait for the bulk calls (10 s), past the 5 s allowed
        name = await asyncio.wait_for(control(lambda: threading.current_thread().name), timeout=5)
        assert name.startswith("helix-control")
    finally:
        release.set()
        await asyncio.gather(*bulk)


async def test_control_passes_arguments_and_raises_what_the_call_raises() -> None:
    assert await control(divmod, 7, 2) == (3, 1)
    try:
        await control(int, "not a number")
    except ValueError as exc:
        assert "not a number" in str(exc)
    else:
        raise AssertionError("the call's error is raised to the caller")


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _niceness_of_a_thread_started_here() -> int:
    seen: list[int] = []
    child = threading.Thread(target=lambda: seen.append(_niceness()))
    child.start()
    child.join()
    return seen[0]


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a niceness per thread is Linux's")


@linux_only
async def test_a_service_process_runs_bulk_work_below_the_control_path() -> None:
    loop = asyncio.get_running_loop()
    before = _niceness()
    interval = sys.getswitchinterval()
    prioritise_control(loop, nice=before + 5)
    try:
        assert sys.getswitchinterval() <= GIL_SWITCH_S < 0.005  # a model step holding the GIL hands it over sooner
        bulk = await asyncio.to_thread(_niceness)  # the default pool: storing, signing, ffmpeg
        inherited = await asyncio.to_thread(_niceness_of_a_thread_started_here)  # torch's workers, a subprocess
        engine = bulk_executor(1, "engine")
        try:
            model_thread = await loop.run_in_executor(engine, _niceness)
        finally:
            engine.shutdown()
        assert (bulk, inherited, model_thread) == (before + 5, before + 5, before + 5)
        assert await control(_niceness) == before  # the control path and the loop keep their priority
        assert _niceness() == before
    finally:
        prioritise_control(loop, nice=0)
        loop.set_default_executor(ThreadPoolExecutor())
        sys.setswitchinterval(interval)


@linux_only
async def test_outside_a_service_process_an_engine_pool_is_a_plain_pool() -> None:
    engine = bulk_executor(1, "engine")
    try:
        assert await asyncio.get_running_loop().run_in_executor(engine, _niceness) == _niceness()
    finally:
        engine.shutdown()


@linux_only
def test_lowering_never_raises_a_threads_priority() -> None:
    def run() -> tuple[int, int]:
        lower_priority(_niceness() + 3)
        lowered = _niceness()
        lower_priority(lowered - 2)  # asking for more priority than it has is ignored
        return lowered, _niceness()

    with ThreadPoolExecutor(1) as pool:
        lowered, after = pool.submit(run).result()
    assert after == lowered
