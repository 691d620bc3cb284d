"""The review desk: everything people do with review items, by responsibility, each in SQL
transactions (methods are synchronous; the gRPC layer runs them in threads):

| part | module | what |
| --- | --- | --- |
| `queries` | `queries.py` | items, the queue, audit, consents, the dashboard |
| `decisions` | `decisions.py` | leases (claim, release) and decisions, with the outbox |
| `second_reviews` | `second_review.py` | sampled second reviews and their agreement |
| `consents` | `consents.py` | the consent registry and its sweep, policies, resolving findings |
| `castings` | `castings.py` | each production's voice casting, with the consents its performers' voices rely on |
"""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from helix.settings import HelixSettings
from helix_review.castings import Castings
from helix_review.consents import Consents
from helix_review.decisions import Decisions
from helix_review.likeness import Likeness
from helix_review.queries import Queries
from helix_review.records import Page
from helix_review.second_review import SecondReviews

__all__ = ["Page", "ReviewDesk"]


class ReviewDesk:
    def __init__(self, sessions: sessionmaker, settings: HelixSettings, *, lease_seconds: int = 300, source: str = "/helix/review",
                 second_share: float = 0.0, likeness: Likeness | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.queries = Queries(sessions)
        self.consents = Consents(sessions, likeness)
        self.castings = Castings(sessions)
        self.decisions = Decisions(sessions, self.consents, lease_seconds=lease_seconds, source=source, second_share=second_share)
        self.second_reviews = SecondReviews(sessions, lease_seconds=lease_seconds)
