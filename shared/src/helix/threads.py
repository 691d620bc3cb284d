"""Where a service's blocking calls run: the control path in threads of its own.

A generator's blocking calls go to threads so the event loop stays free. Most of them are
bulk work: storing and signing assets, running ffmpeg, transcribing a dub; a busy generator
has dozens in flight. The control path is a few quick calls: has this event been handled
(`ProcessedEvents`), what did review approve (`Approvals`), the approved document a reaction
reads (`Documents`). When both shared asyncio's default pool (on a 2-core machine, 6
threads), a reaction waited behind the frames being signed, and a decision took seconds to
become an accepted job. So the control path has this pool, and bulk work keeps the default.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

CONTROL_THREADS = 8
_control = ThreadPoolExecutor(CONTROL_THREADS, thread_name_prefix="helix-control")


async def control(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on the control path's threads (`asyncio.to_thread` for bookkeeping)."""
    return await asyncio.get_running_loop().run_in_executor(_control, functools.partial(fn, *args, **kwargs))
