"""The review database: items, findings, consents, decisions, outbox and audit log.

SQLAlchemy 2 models; the schema is created and evolved by Alembic (`migrations/`).
SQLite by default, PostgreSQL by URL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from helix import db
from helix.db import UTCDateTime, make_engine

__all__ = ["make_engine", "migrate", "session_factory"]

PENDING = "pending"
OUTCOMES = ("approved", "rejected", "revision_requested")
DONE = "done"




class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class ReviewItem(Base):
    """One generated asset version waiting for, or having had, a human decision."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("asset_id", "asset_version", name="uq_review_items_asset_version"),
        # The queue: pending items by priority (= -risk), then age. Keyset pages walk it.
        Index("ix_review_items_queue", "status", "priority", "created_at", "id"),
        Index("ix_review_items_production", "production_id", "status"),
        Index("ix_review_items_sha256", "sha256"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    asset_id: Mapped[str] = mapped_column(String(128))
    asset_version: Mapped[int] = mapped_column(Integer)
    production_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    object_key: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str | None] = mapped_column(String(200))
    event_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default=PENDING)
    priority: Mapped[float] = mapped_column(Float, default=0.0)  # -risk score: lower comes first
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    first_claimed_at: Mapped[datetime | None]  # handling time runs from here to the decision
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]

    findings: Mapped[list[Finding]] = relationship(back_populates="item", order_by="Finding.id", lazy="selectin")
    decision: Mapped[Decision | None] = relationship(back_populates="item", lazy="selectin")

    @property
    def risk_score(self) -> float:
        return -self.priority or 0.0  # never -0.0


class Finding(Base):
    __tablename__ = "findings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), index=True)
    check: Mapped[str] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(300), default="")
    blocks_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    consent_id: Mapped[str | None] = mapped_column(String(32), index=True)  # the consent it relies on, if any

    item: Mapped[ReviewItem] = relationship(back_populates="findings")


class Performer(Base):
    """A name (and its aliases) whose appearance in an asset needs recorded consent."""

    __tablename__ = "performers"

    name_key: Mapped[str] = mapped_column(String(300), primary_key=True)  # casefolded
    name: Mapped[str] = mapped_column(String(300))
    aliases: Mapped[list[str]] = mapped_column(default=list)


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    performer_key: Mapped[str] = mapped_column(ForeignKey("performers.name_key"), index=True)
    performer: Mapped[str] = mapped_column(String(300))
    scopes: Mapped[list[str]] = mapped_column()
    production_ids: Mapped[list[str]] = mapped_column(default=list)  # empty: every production
    expires_at: Mapped[datetime | None]
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    references: Mapped[list[ConsentReference]] = relationship(back_populates="consent", order_by="ConsentReference.added_at",
                                                              lazy="selectin")

    def covers(self, scope: str, production_id: str, at: datetime) -> bool:
        return (
            self.revoked_at is None
            and (self.expires_at is None or self.expires_at > at)
            and scope in self.scopes
            and (not self.production_ids or production_id in self.production_ids)
        )

    def visible_to(self, productions: list[str] | None) -> bool:
        """Consents are personal data: admins (None) see every one, others those covering a
        production they are assigned to (or every production)."""
        return productions is None or not self.production_ids or bool(set(productions) & set(self.production_ids))


class ConsentReference(Base):
    """A reference image (or recording) of the performer that a consent carries: what the
    likeness screening compares generated images with. Kept here, with the consent it belongs
    to, and served only through the same checks as the consent."""

    __tablename__ = "consent_references"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), index=True)
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read only when served or embedded
    embedding: Mapped[list[float] | None] = mapped_column(JSON)  # by `embedding_model`; None: no encoder configured when added
    embedding_model: Mapped[str | None] = mapped_column(String(300))
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime]

    consent: Mapped[Consent] = relationship(back_populates="references")


class Policy(Base):
    __tablename__ = "policies"

    production_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    banned_terms: Mapped[list[str]] = mapped_column(default=list)
    performers: Mapped[list[str]] = mapped_column(default=list)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class CastingRecord(Base):
    """A production's voice casting (`helix.casting.Casting`, stored as its JSON)."""

    __tablename__ = "castings"

    production_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(default=dict)
    series_id: Mapped[str | None] = mapped_column(String(128), index=True, default=None)  # the document's, to find a series' episodes
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class SeriesCastingRecord(Base):
    """A series' voice casting (`helix.casting.SeriesCasting`, stored as its JSON)."""

    __tablename__ = "series_castings"

    series_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(32))
    reviewer: Mapped[str] = mapped_column(String(200))
    reviewer_roles: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(index=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    regions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # marked parts of an image
    handling_seconds: Mapped[float | None] = mapped_column(Float)
    timecodes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # marked moments of an animatic, clip or recording

    item: Mapped[ReviewItem] = relationship(back_populates="decision")


class SecondReview(Base):
    """A sampled decision looked at again by another reviewer; whether they agree is kept."""

    __tablename__ = "second_reviews"
    __table_args__ = (Index("ix_second_reviews_open", "status", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"))
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), unique=True)
    production_id: Mapped[str] = mapped_column(String(128))
    first_reviewer: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)  # pending, done
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    reviewer: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(32))
    agrees: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]

    item: Mapped[ReviewItem] = relationship(lazy="selectin")


class OutboxEvent(Base):
    """A decision event committed with the decision, published to Kafka by the relay."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    topic: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Append-only: a database trigger refuses UPDATE and DELETE (see the migration)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_item", "item_id", "id"), Index("ix_audit_production", "production_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    actor_roles: Mapped[list[str]] = mapped_column(default=list)
    action: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str | None] = mapped_column(String(32))
    production_id: Mapped[str | None] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


def utcnow() -> datetime:
    return datetime.now(UTC)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    db.migrate(engine, Path(__file__).parent / "migrations", version_table="review_alembic_version")


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
