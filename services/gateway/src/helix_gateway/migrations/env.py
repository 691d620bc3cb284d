"""Alembic environment of the gateway's read model (run by `helix.db.migrate`)."""

from helix.db import run_migrations
from helix_gateway.readmodel.tables import Base

run_migrations(Base.metadata)
