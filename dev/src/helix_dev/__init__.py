"""Helix development tools, kept out of the runtime library and the service images.

- `helix_dev.infra`   the local Kafka, MinIO, SeaweedFS and PostgreSQL launcher (`helix infra …`)
- `helix_dev.stack`   every Helix service as a process on this machine (`helix up|down|status`)
- `helix_dev.demo`    the whole-production demo (`make demo`, `helix demo`)
- `helix_dev.foundation`  one asset event through the broker into the store (`helix demo --foundation`)
"""
