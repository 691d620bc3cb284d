"""Model work in worker processes of a service's own.

A model step that runs Python (a diffusers pipeline's loop, a VITS forward's small
operations) holds its process's GIL, and a generator's event loop then waits for it at every
handoff: a decision took seconds to become an accepted job behind a frame being drawn. A
worker process has a GIL of its own. Localize speaks in a pool of them; visual draws in one.

- `start_worker(nice, threads)`: the first thing a worker does: below the service in CPU
  priority (`helix.threads.lower_priority`), torch's threads as asked, and gone with the
  service (`exit_with_parent`).
- Workers are never forked from the service, a process holding threads and locks: `spawn()`
  starts each one fresh; `forkserver(preload)` forks each from a clean server process that
  imported `preload` once (torch and diffusers take ~25 s to import here: a service that
  starts another worker, or a test suite that starts many, pays that once).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from multiprocessing.context import ForkServerContext, SpawnContext

__all__ = ["exit_with_parent", "forkserver", "spawn", "start_worker"]


def spawn() -> SpawnContext:
    return multiprocessing.get_context("spawn")


def forkserver(preload: list[str]) -> ForkServerContext:
    """Workers forked from this process's fork server, which imports `preload` when it starts
    (the first worker's start; a module that cannot be imported is skipped)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    return context


def start_worker(nice: int, threads: int = 0, environ: dict[str, str] | None = None) -> None:
    """In a worker process, first: the service's environment (`environ`: a forked worker has
    its fork server's, as it was when the server started), a lower CPU priority than the
    service's, `threads` torch threads (0: torch's default), and an end when the service ends."""
    from helix.threads import lower_priority

    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    lower_priority(nice)
    exit_with_parent()
    if threads:
        import torch

        torch.set_num_threads(threads)


def exit_with_parent() -> None:
    """End this worker process when the service's process ends, even by `kill -9` (which runs no
    cleanup): a worker waiting on its end of a queue or pipe would otherwise wait for ever."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="helix-parent-watch", daemon=True).start()
