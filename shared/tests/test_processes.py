"""Worker processes: started below the service in CPU priority, from a fork server that
imported what was asked once; `helix.testing.processes.alive` tells a running process from a
gone one."""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection

from helix.processes import forkserver, spawn, start_worker
from helix.testing.processes import alive


def report(conn: Connection, nice: int, module: str = "colorsys") -> None:
    start_worker(nice)
    conn.send((os.nice(0), module in sys.modules, os.getpid()))


def test_a_worker_runs_below_the_service_and_is_gone_once_done() -> None:
    parent, child = spawn().Pipe()
    process = spawn().Process(target=report, args=(child, 7))
    process.start()
    niceness, imported, pid = parent.recv()
    process.join(30)
    assert niceness == os.nice(0) + 7 and not imported, "a spawned worker imports only what it needs"
    assert pid == process.pid and not alive(pid)
    assert alive(os.getpid())


def test_workers_fork_from_a_server_that_imported_the_preload() -> None:
    context = forkserver(["colorsys"])  # nothing else imports it
    parent, child = context.Pipe()
    process = context.Process(target=report, args=(child, 0))
    process.start()
    _, imported, pid = parent.recv()
    process.join(30)
    assert imported and pid == process.pid
