"""Automatic pre-screening: each check a small unit with findings and a severity.

Add a check by writing a class with `name` and `run(ctx) -> list[FindingDraft]` and
listing it in DEFAULT_CHECKS.
"""

from helix_review.checks.base import Check, FindingDraft, ScreeningContext, Severity, risk_score
from helix_review.checks.consent import LikenessConsentCheck
from helix_review.checks.duplicates import DuplicateContentCheck
from helix_review.checks.integrity import StoreIntegrityCheck
from helix_review.checks.lineage import LineageCheck
from helix_review.checks.localization import LocalizationCheck
from helix_review.checks.policy import PolicyTermsCheck

DEFAULT_CHECKS: tuple[Check, ...] = (
    StoreIntegrityCheck(),
    LineageCheck(),
    LikenessConsentCheck(),
    PolicyTermsCheck(),
    DuplicateContentCheck(),
    LocalizationCheck(),
)

__all__ = ["DEFAULT_CHECKS", "Check", "FindingDraft", "ScreeningContext", "Severity", "risk_score"]
