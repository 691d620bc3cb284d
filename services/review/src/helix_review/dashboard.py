"""Review at scale, measured: queue depth and age, decision times, throughput, SLA and
the reviewers needed to keep up.

Decision time is *handling* time: from a reviewer's first claim on an item to its
decision (what a person spends), not the time the item waited in the queue (which the
SLA counts: arrival to decision). The staffing projection is

    reviewers = arrivals per hour × median handling time            (keep up)
              + pending items × median handling time / SLA         (clear today's backlog in time)

per kind, in reviewer-hours per hour, i.e. people reviewing full time.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from helix_review.db import DONE, PENDING, Decision, ReviewItem, SecondReview


@dataclass
class KindStats:
    kind: str
    pending: int = 0
    oldest_pending_seconds: float = 0.0
    median_pending_seconds: float = 0.0
    decided: int = 0
    median_decision_seconds: float = 0.0
    p90_decision_seconds: float = 0.0
    sla_breaches: int = 0
    arrivals_per_hour: float = 0.0
    reviewers_needed: float = 0.0


@dataclass
class ReviewerStats:
    reviewer: str
    decisions: int
    handling_hours: float
    decisions_per_hour: float


@dataclass
class Dashboard:
    at: datetime
    window_hours: int
    sla_seconds: float
    kinds: list[KindStats] = field(default_factory=list)
    reviewers: list[ReviewerStats] = field(default_factory=list)
    second_reviews_done: int = 0
    second_reviews_agreed: int = 0
    second_reviews_pending: int = 0

    @property
    def reviewers_needed(self) -> float:
        return round(sum(k.reviewers_needed for k in self.kinds), 2)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def build_dashboard(sessions: sessionmaker, *, productions: list[str], window: timedelta, sla_seconds: float, now: datetime) -> Dashboard:
    since = now - window
    hours = window.total_seconds() / 3600
    scope = (lambda q: q.where(ReviewItem.production_id.in_(productions))) if productions else (lambda q: q)
    with sessions() as s:
        pending = s.execute(scope(select(ReviewItem.kind, ReviewItem.created_at).where(ReviewItem.status == PENDING))).all()
        arrivals = s.execute(scope(select(ReviewItem.kind, func.count()).where(ReviewItem.created_at >= since).group_by(ReviewItem.kind))).all()
        decided = s.execute(scope(
            select(ReviewItem.kind, ReviewItem.created_at, Decision.decided_at, Decision.handling_seconds, Decision.reviewer)
            .join(Decision, Decision.item_id == ReviewItem.id).where(Decision.decided_at >= since)
        )).all()
        seconds_q = select(SecondReview.status, SecondReview.agrees, func.count()).group_by(SecondReview.status, SecondReview.agrees)
        if productions:
            seconds_q = seconds_q.where(SecondReview.production_id.in_(productions))
        seconds = s.execute(seconds_q).all()

    kinds: dict[str, KindStats] = defaultdict(lambda: KindStats(kind=""))
    waiting: dict[str, list[float]] = defaultdict(list)
    for kind, created in pending:
        waiting[kind].append((now - created).total_seconds())
    handling: dict[str, list[float]] = defaultdict(list)
    breaches: dict[str, int] = defaultdict(int)
    per_reviewer: dict[str, list[float]] = defaultdict(list)
    for kind, created, decided_at, spent, reviewer in decided:
        if spent is not None:
            handling[kind].append(spent)
            per_reviewer[reviewer].append(spent)
        if (decided_at - created).total_seconds() > sla_seconds:
            breaches[kind] += 1
    arrived = dict(arrivals)
    for kind in sorted(set(waiting) | set(handling) | set(arrived) | set(breaches)):
        ages, spent = waiting.get(kind, []), handling.get(kind, [])
        stats = KindStats(kind=kind, pending=len(ages))
        stats.oldest_pending_seconds = round(max(ages, default=0.0), 1)
        stats.median_pending_seconds = round(statistics.median(ages), 1) if ages else 0.0
        stats.decided = sum(1 for row in decided if row[0] == kind)
        stats.median_decision_seconds = round(statistics.median(spent), 2) if spent else 0.0
        stats.p90_decision_seconds = round(percentile(spent, 90), 2)
        stats.sla_breaches = breaches.get(kind, 0) + sum(1 for age in ages if age > sla_seconds)
        stats.arrivals_per_hour = round(arrived.get(kind, 0) / hours, 2) if hours else 0.0
        per_item_hours = stats.median_decision_seconds / 3600
        stats.reviewers_needed = round(stats.arrivals_per_hour * per_item_hours + len(ages) * stats.median_decision_seconds / sla_seconds, 2)
        kinds[kind] = stats
    reviewers = [
        ReviewerStats(reviewer=name, decisions=len(spent), handling_hours=round(sum(spent) / 3600, 4),
                      decisions_per_hour=round(len(spent) / (sum(spent) / 3600), 1) if sum(spent) > 0 else 0.0)
        for name, spent in sorted(per_reviewer.items())
    ]
    board = Dashboard(at=now, window_hours=round(hours), sla_seconds=sla_seconds, kinds=list(kinds.values()), reviewers=reviewers)
    for status, agrees, count in seconds:
        if status == DONE:
            board.second_reviews_done += count
            board.second_reviews_agreed += count if agrees else 0
        else:
            board.second_reviews_pending += count
    return board
