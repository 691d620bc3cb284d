"""SQLAlchemy tables of the read model. Alembic (`helix_gateway/migrations`) owns the schema;
these classes must match the newest revision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helix.db import UTCDateTime
from helix.events import AssetGenerated, CloudEvent

JOB_STATUSES = ("requested", "accepted", "progress", "failed", "completed")
REVIEW_STATUSES = ("pending", "approved", "rejected", "revision_requested")




class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Production(Base):
    __tablename__ = "productions"
    # Listing pages walk (created_at, production_id), newest first.
    __table_args__ = (Index("ix_productions_created", "created_at", "production_id"),)

    production_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    logline: Mapped[str] = mapped_column(Text)
    style: Mapped[str | None] = mapped_column(String(500))
    target_locales: Mapped[list[str]] = mapped_column(default=list)
    performers: Mapped[list[str]] = mapped_column(default=list)
    training_mining: Mapped[str] = mapped_column(String(16), default="notAllowed", server_default="notAllowed")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_production", "production_id", "created_at", "job_id"),
        CheckConstraint(f"status IN {JOB_STATUSES}", name="ck_jobs_status"),
    )

    job_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    production_id: Mapped[str] = mapped_column(String(128))
    request_type: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    fraction: Mapped[float | None] = mapped_column(Float)
    step: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    service: Mapped[str | None] = mapped_column(String(100))
    asset_ids: Mapped[list[str]] = mapped_column(default=list)
    requested_by: Mapped[str | None] = mapped_column(String(200))
    request_event_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Asset(Base):
    """One version of a generated asset and its review status.

    A review decision can be projected before its asset's `asset.generated` event (they
    travel on different topics): the row then exists with only the review fields, and
    `event` is null until the asset event fills in the rest. Listings skip such rows.
    """

    __tablename__ = "assets"
    __table_args__ = (
        Index("ix_assets_production", "production_id", "created_at", "asset_id", "version"),
        Index("ix_assets_production_kind", "production_id", "kind", "created_at", "asset_id", "version"),
        Index("ix_assets_job", "job_id"),
        CheckConstraint(f"review_status IN {REVIEW_STATUSES}", name="ck_assets_review_status"),
    )

    asset_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    production_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    object_key: Mapped[str | None] = mapped_column(String(1024))
    sha256: Mapped[str | None] = mapped_column(String(64))
    media_type: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    job_id: Mapped[str | None] = mapped_column(String(128))
    review_status: Mapped[str] = mapped_column(String(32), default="pending")
    decision_id: Mapped[str | None] = mapped_column(String(128))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    review_notes: Mapped[str | None] = mapped_column(Text)
    review_seconds: Mapped[float | None] = mapped_column(Float)  # the reviewer's handling time
    event: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]

    def generated(self) -> AssetGenerated | None:
        """The asset's `helix.asset.generated` data, typed (None until it has been projected)."""
        if self.event is None:
            return None
        return CloudEvent[AssetGenerated].model_validate(self.event).data
