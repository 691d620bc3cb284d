"""Engine and migrations of the read model. SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from helix import db
from helix.db import make_engine, normalize_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Its own version table, so the read model can share a database with other services.
VERSION_TABLE = "gateway_alembic_version"


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the read model's schema to `revision`."""
    db.migrate(engine, MIGRATIONS, version_table=VERSION_TABLE, revision=revision)


__all__ = ["make_engine", "migrate", "normalize_url"]
