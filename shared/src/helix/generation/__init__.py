"""The generator kit: how writer, visual and localize run jobs, store assets and name them.

- `jobs`: `GeneratorKit.run` (job lifecycle, retries as progress, resume on redelivery,
  fencing to the request's owner, one outcome per request), `Job` (progress, `resumed`,
  `store`, `gather`) and the refusal protocol (`JobRefused`; anything else is a fault);
- `assets`: `GeneratedAsset` (what a generator hands over), `Provenance` (the typed
  sidecar), the `helix.asset.generated` event rebuilt from it (`event_from`), stable event ids;
- `reader`: `Documents`, one reader for the approved version of what a step builds on;
- `approvals`: each generator's record of review decisions;
- `ids`: asset and reaction job ids built and parsed in one place;
- `service`: the process shell (store, bus, kit, consumers, reactions, engine and gRPC).
"""

from helix.generation.assets import GeneratedAsset, Provenance, asset_event_id, derived_event_id, total_cost
from helix.generation.jobs import GeneratorKit, Job, JobClosed, JobGaveUp, JobRefused

__all__ = ["GeneratedAsset", "GeneratorKit", "Job", "JobClosed", "JobGaveUp", "JobRefused", "Provenance", "asset_event_id",
           "derived_event_id", "total_cost"]
