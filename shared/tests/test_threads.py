"""The control path's threads (`helix.threads`): bookkeeping never queues behind bulk work in
asyncio's default pool."""

from __future__ import annotations

import asyncio
import threading

from helix.threads import control


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
