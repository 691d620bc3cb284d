"""In-memory doubles of the asset store and the bus that keep their rules, so every domain
step is unit-testable without servers (as FastStream ships `TestKafkaBroker`). The real
infrastructure tests prove the flows; these prove the steps.

    store, bus = MemoryStore(), MemoryBus()
    kit = GeneratorKit(service="visual", store=store, bus=bus, settings=HelixSettings())
    await kit.run(new_event(request, source="/tests"), step)
    bus.of_type(AssetGenerated)

`MemoryStore` numbers versions, refuses traversal through `AssetKey`, checks sha256 on every
read, reuses a version for the same bytes or the same job, and can be made to fail
(`fail_next`) like a store that is briefly away. `MemoryBus` keeps every published event in
order, delivers an event id once to its subscribers, and records what would be dead-lettered.
"""

from helix.testing.memory import MemoryBus, MemoryStore

__all__ = ["MemoryBus", "MemoryStore"]
