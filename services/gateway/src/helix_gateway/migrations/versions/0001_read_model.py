"""The read model: productions, jobs, assets.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from helix.db import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "productions",
        sa.Column("production_id", sa.String(128), primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("logline", sa.Text(), nullable=False),
        sa.Column("style", sa.String(500), nullable=True),
        sa.Column("target_locales", sa.JSON(), nullable=False),
        sa.Column("performers", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_productions_created", "productions", ["created_at", "production_id"])

    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(128), primary_key=True),
        sa.Column("production_id", sa.String(128), nullable=False),
        sa.Column("request_type", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fraction", sa.Float(), nullable=True),
        sa.Column("step", sa.String(500), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("service", sa.String(100), nullable=True),
        sa.Column("asset_ids", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=True),
        sa.Column("request_event_id", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('requested', 'accepted', 'progress', 'failed', 'completed')", name="ck_jobs_status"),
    )
    op.create_index("ix_jobs_production", "jobs", ["production_id", "created_at", "job_id"])

    op.create_table(
        "assets",
        sa.Column("asset_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("production_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("object_key", sa.String(1024), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("media_type", sa.String(200), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("job_id", sa.String(128), nullable=True),
        sa.Column("review_status", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.String(128), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("review_notes", sa.Text(), nullable=True),
        sa.Column("event", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "review_status IN ('pending', 'approved', 'rejected', 'revision_requested')", name="ck_assets_review_status"
        ),
    )
    op.create_index("ix_assets_production", "assets", ["production_id", "created_at", "asset_id", "version"])
    op.create_index("ix_assets_production_kind", "assets", ["production_id", "kind", "created_at", "asset_id", "version"])
    op.create_index("ix_assets_job", "assets", ["job_id"])


def downgrade() -> None:
    op.drop_table("assets")
    op.drop_table("jobs")
    op.drop_table("productions")
