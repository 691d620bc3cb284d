"""Alembic environment of the review database (run by `helix.db.migrate`)."""

from helix.db import run_migrations
from helix_review.db import Base

run_migrations(Base.metadata)
