"""What checks share: severities numbered as review.proto numbers them, risk points per open
finding, and the default checks, which find nothing wrong with a complete, clean asset."""

from __future__ import annotations

from helix.v1 import review_pb2
from helix_review.checks import DEFAULT_CHECKS, FindingDraft, Severity, risk_score
from helix_review.checks.base import RISK_POINTS, open_severities

from ..conftest import screening


def test_severities_carry_the_numbers_of_the_protos_enum() -> None:
    for severity in Severity:
        assert review_pb2.Severity.Value(f"SEVERITY_{severity.name}") == severity.value


def test_every_severity_has_risk_points_growing_with_it() -> None:
    points = [RISK_POINTS[s] for s in sorted(Severity)]
    assert points == sorted(points) and len(set(points)) == len(points)
    assert RISK_POINTS[Severity.INFO] == 0.0


def test_risk_is_the_sum_of_the_points_of_each_finding() -> None:
    assert risk_score([]) == 0.0
    assert (
        risk_score([Severity.LOW, Severity.LOW, Severity.MEDIUM]) == 2 * RISK_POINTS[Severity.LOW] + RISK_POINTS[Severity.MEDIUM]
    )
    assert risk_score([Severity.CRITICAL]) > risk_score([Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO])
    assert risk_score([Severity.INFO] * 50) == 0.0  # information alone never raises an item in the queue


def test_findings_covered_by_a_consent_carry_no_risk() -> None:
    drafts = [FindingDraft("c", Severity.HIGH, "named, covered", covered_by="consent-1"), FindingDraft("c", Severity.LOW, "open")]
    assert open_severities(drafts) == [Severity.LOW]


def test_the_default_checks_have_distinct_names_and_pass_a_clean_complete_asset() -> None:
    names = [check.name for check in DEFAULT_CHECKS]
    assert len(names) == len(set(names))
    clean = screening(text="An old keeper must keep the light burning.")
    assert [d for check in DEFAULT_CHECKS for d in check.run(clean)] == []
