"""Gateway: Helix's HTTP API (FastAPI).

- `app.create_app(settings)` builds the application: bearer-token auth with roles,
  RFC 9457 problem details, OpenAPI at `/openapi.json`;
- a SQL read model (`readmodel/`, migrated by Alembic) projected from Kafka events:
  productions, jobs and assets, listed with keyset pagination;
- generation requests published to the bus; reviews, consents and audit through the
  review service's gRPC API; live job and review events as Server-Sent Events.
"""

__version__ = "0.1.0"
