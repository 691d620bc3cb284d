"""Where a service's blocking calls run: the control path in threads of its own.

A generator's blocking calls go to threads so the event loop stays free. Most of them are
bulk work: storing and signing assets, running ffmpeg, transcribing a dub; a busy generator
has dozens in flight. The control path is a few quick calls: has this event been handled
(`ProcessedEvents`), what did review approve (`Approvals`), the approved document a reaction
reads (`Documents`). When both shared asyncio's default pool (on a 2-core machine, 6
threads), a reaction waited behind the frames being signed, and a decision took seconds to
become an accepted job. So the control path has this pool, and bulk work keeps the default.

Threads are not enough on a machine whose cores the models keep busy: the event loop that
accepts a job then waits for a core like everything else. So a generator's bulk threads
(its process's default pool, the engines' model threads, and whatever they start: torch's worker
threads, ffmpeg) run at a lower CPU priority (`bulk_nice`, Linux's per-thread niceness),
and the event loop, the Kafka clients and the control path get a core as soon as they have
something to do. Nothing is slower when the machine is idle; a niceness of 10 gives a bulk
thread about a tenth of the share of a control thread when both want the same core.

A core is not all the event loop waits for: a model step that runs Python (a diffusers
pipeline's loop, a VITS forward's small operations) holds the GIL, and CPython hands it to a
waiting thread only after its switch interval (5 ms). A reaction crosses threads dozens of
times (a read, a dedupe lookup, a commit), so a generator's process switches every 1 ms
(`GIL_SWITCH_S`): the loop waits at most that for each handoff, and a model step loses
nothing measurable to the extra switches.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

CONTROL_THREADS = 8
GIL_SWITCH_S = 0.001
_control = ThreadPoolExecutor(CONTROL_THREADS, thread_name_prefix="helix-control")
_bulk_nice = 0  # this process's niceness for bulk threads: set by a generator's process (`prioritise_control`)
_prioritised: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()


async def control(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on the control path's threads (`asyncio.to_thread` for bookkeeping)."""
    return await asyncio.get_running_loop().run_in_executor(_control, functools.partial(fn, *args, **kwargs))


def lower_priority(nice: int) -> None:
    """Run the calling thread, and the threads and processes it starts from now on, at
    niceness `nice` (never higher priority than it has). Linux only: elsewhere a niceness is
    the whole process's, so this does nothing."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    if os.getpriority(os.PRIO_PROCESS, tid) < nice:
        os.setpriority(os.PRIO_PROCESS, tid, nice)


def bulk_executor(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool for bulk work (an engine's model calls): in a generator's process its threads yield
    the CPU to the control path; elsewhere (tests, scripts) it is a plain pool."""
    return ThreadPoolExecutor(workers, thread_name_prefix=name, initializer=lower_priority, initargs=(_bulk_nice,))


def prioritise_control(loop: asyncio.AbstractEventLoop, *, nice: int) -> None:
    """In a generator's process: bulk pools made from now on, and the loop's default pool
    (`asyncio.to_thread`: storing, signing, ffmpeg), run at niceness `nice`; the loop's own
    thread, the Kafka clients and `control` keep their priority; the GIL changes hands every
    `GIL_SWITCH_S` at the most."""
    global _bulk_nice
    if _prioritised.get(loop) == nice:
        return  # several generators in one process (tests) share the loop's pool
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
    _bulk_nice = nice
    _prioritised[loop] = nice
    loop.set_default_executor(bulk_executor(min(32, (os.cpu_count() or 1) + 4), "helix-bulk"))
