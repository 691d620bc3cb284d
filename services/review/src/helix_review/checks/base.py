"""What a pre-screening check is: a small unit that looks at one asset and reports findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Protocol

from helix.events import AssetGenerated
from helix_review.db import Consent, Performer, Policy


class Severity(IntEnum):  # numbering matches review.proto's Severity
    INFO = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5


# Risk points per open finding: one critical outweighs the lows any one asset gets (up to a hundred).
RISK_POINTS = {Severity.INFO: 0.0, Severity.LOW: 1.0, Severity.MEDIUM: 5.0, Severity.HIGH: 25.0, Severity.CRITICAL: 100.0}


@dataclass(frozen=True)
class FindingDraft:
    check: str
    severity: Severity
    message: str
    subject: str = ""
    blocks_approval: bool = False
    covered_by: str | None = None  # a consent that covers it: recorded closed, reopened if the consent lapses


@dataclass(frozen=True)
class ReferenceEmbedding:
    """A performer's reference image or recording (from a consent), embedded by `model`."""

    model: str
    performer: str
    performer_key: str
    consent_id: str
    embedding: list[float]


@dataclass
class ScreeningContext:
    """Everything a check may look at, gathered once per asset."""

    asset: AssetGenerated
    content: bytes | None  # None when the object could not be read
    text: str  # prompts, inputs and (for text assets) the content, for name and term search
    stored_sha256: str | None
    now: datetime
    performers: list[Performer] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    policy: Policy | None = None
    same_content: list[tuple[str, str, str]] = field(default_factory=list)  # (asset id, version, status)
    manifest: bytes | None = None  # a sidecar C2PA manifest, for formats it could not be embedded in
    references: list[ReferenceEmbedding] = field(default_factory=list)  # performers' reference images, for likeness screening


class Check(Protocol):
    name: str

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]: ...


def open_severities(drafts: list[FindingDraft]) -> list[Severity]:
    return [d.severity for d in drafts if d.covered_by is None]


def risk_score(severities: list[Severity]) -> float:
    return sum(RISK_POINTS[s] for s in severities)
