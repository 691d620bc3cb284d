"""Fencing work to the consumer that owns it.

A request is worked by the replica whose consumer owns the request's partition. When the
partition moves (a rebalance, or this replica stalled past the session timeout and the group
gave its partitions to another), the job must not store or announce anything more: the new
owner resumes it. `Fence.confirm()` is called before every store and every announcement; it
raises `OwnershipLost` once the partition is gone, and after any stall it asks the group
coordinator (a synchronous offset commit that only a current member can make) before it lets
the job write again.
"""

from __future__ import annotations

from typing import Protocol


class OwnershipLost(Exception):
    """This replica no longer owns the request: the job stops and publishes nothing more."""


class Fence(Protocol):
    @property
    def lost(self) -> bool: ...

    async def confirm(self) -> None:
        """Return when this replica still owns the work; raise `OwnershipLost` otherwise."""
        ...


class Unfenced:
    """Work that no consumer owns (a test, a script): never lost."""

    lost = False

    async def confirm(self) -> None:
        return None


UNFENCED = Unfenced()
