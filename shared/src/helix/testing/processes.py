"""Process checks for tests of worker processes: is a process still running?"""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """Whether `pid` runs: not gone, and not a zombie (an exited child of pid 1 may linger as
    one a moment)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
