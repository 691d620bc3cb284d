"""What the generator kit and the domain steps need of the bus, as a protocol: `HelixBus`
and the in-memory double (`helix.testing.MemoryBus`) both publish typed event data under an
optional stable event id (consumers see an event id once)."""

from __future__ import annotations

from typing import Any, Protocol

from helix.events.data import EventData
from helix.events.envelope import CloudEvent


class Publisher(Protocol):
    async def publish(self, data: EventData, *, event_id: str | None = None) -> CloudEvent[Any]: ...
