"""Helix core: the contracts and plumbing every Helix service shares.

- `helix.events`  event envelope (CloudEvents 1.0), versioned data models, topics
- `helix.bus`     the Kafka bus on FastStream: at-least-once, idempotent, dead letters
- `helix.assets`  the asset store on S3 (MinIO): content addressing, sidecars, presigning
- `helix.settings`, `helix.logs`, `helix.telemetry`, `helix.metrics`, `helix.grpc`
"""

__version__ = "0.1.0"
