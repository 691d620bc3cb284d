"""The generator kit: how writer, visual and localize run jobs, store assets and name them.

- `jobs`: `GeneratorKit.run`/`run_all` (job lifecycle, retries as progress, resume on
  redelivery, one outcome per request) and `Job` (progress, `resumed`, `store`, `gather`);
- `assets`: `GeneratedAsset` (what a generator hands over), provenance in the sidecar, the
  `helix.asset.generated` event rebuilt from it, stable event ids;
- `ids`: asset ids built and parsed in one place, with the vocabulary they are made of;
- `service`: the process shell (store, bus, kit, consumers, engine and gRPC start/stop).
"""

from helix.generation.assets import GeneratedAsset, asset_event_id, derived_event_id, event_from, provenance_of, total_cost
from helix.generation.jobs import GeneratorKit, Job, JobClosed, JobGaveUp

__all__ = [
    "GeneratedAsset",
    "GeneratorKit",
    "Job",
    "JobClosed",
    "JobGaveUp",
    "asset_event_id",
    "derived_event_id",
    "event_from",
    "provenance_of",
    "total_cost",
]
