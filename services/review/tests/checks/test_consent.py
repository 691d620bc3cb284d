"""The likeness consent check: a performer named in an asset (by name or alias, as a whole
word) needs a live consent for the scope the asset's kind uses, in its production."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helix.events import AssetKind
from helix_review.checks import Severity
from helix_review.checks.consent import REQUIRED_SCOPE, SCOPES, LikenessConsentCheck, mentions

from ..conftest import NOW, consent, performer, screening

CHECK = LikenessConsentCheck()
ANN = performer("Ann Lee", "Annie L")


def test_every_asset_kind_needs_a_known_scope() -> None:
    assert set(REQUIRED_SCOPE) == set(AssetKind)
    assert set(REQUIRED_SCOPE.values()) <= set(SCOPES)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ANN LEE enters the lamp room", True),
        ("ann   lee\nenters", True),
        ("(Ann Lee)", True),
        ("Joanne Leeds enters", False),
        ("Ann Leeward", False),
        ("Ann", False),
    ],
)
def test_names_are_found_as_whole_words_in_any_case(text: str, found: bool) -> None:
    assert mentions(text, "Ann Lee") is found


def test_names_with_regex_characters_are_matched_literally() -> None:
    assert mentions("C.J. waves", "C.J.")
    assert not mentions("CXJX waves", "C.J.")


def test_a_performer_who_is_not_named_needs_no_consent() -> None:
    assert CHECK.run(screening(text="The keeper climbs the stairs.", performers=[ANN])) == []


@pytest.mark.parametrize(
    ("kind", "media_type", "scope"),
    [("script", "text/x-fountain", "name"), ("frame", "image/png", "likeness"), ("voiceover", "audio/wav", "voice")],
)
def test_a_named_performer_without_consent_blocks_approval(kind: str, media_type: str, scope: str) -> None:
    [draft] = CHECK.run(screening(kind=kind, media_type=media_type, text="Annie L at the window", performers=[ANN]))
    assert draft.severity is Severity.HIGH and draft.blocks_approval and draft.covered_by is None
    assert draft.subject == "Ann Lee"
    assert f"without recorded consent for '{scope}' in production lighthouse" in draft.message


def test_a_covering_consent_is_recorded_on_the_finding_so_a_lapse_can_reopen_it() -> None:
    given = consent(ANN, "likeness", productions=("lighthouse",), expires_at=NOW + timedelta(days=30))
    [draft] = CHECK.run(screening(kind="frame", media_type="image/png", text="Ann Lee", performers=[ANN], consents=[given]))
    assert draft.covered_by == given.id and draft.blocks_approval
    assert f"under consent {given.id} for 'likeness'" in draft.message


@pytest.mark.parametrize("why", ["another scope", "another production", "expired", "revoked", "another performer"])
def test_a_consent_that_does_not_cover_this_use_is_ignored(why: str) -> None:
    other = performer("Bo Stone")
    given = {
        "another scope": consent(ANN, "name", "voice"),
        "another production": consent(ANN, "likeness", productions=("harbour",)),
        "expired": consent(ANN, "likeness", expires_at=NOW - timedelta(seconds=1)),
        "revoked": consent(ANN, "likeness", revoked_at=NOW - timedelta(days=1)),
        "another performer": consent(other, "likeness"),
    }[why]
    [draft] = CHECK.run(
        screening(kind="frame", media_type="image/png", text="Ann Lee", performers=[ANN, other], consents=[given])
    )
    assert draft.covered_by is None


def test_a_consent_for_every_production_covers_this_one() -> None:
    [draft] = CHECK.run(
        screening(kind="frame", media_type="image/png", text="Ann Lee", performers=[ANN], consents=[consent(ANN, "likeness")])
    )
    assert draft.covered_by is not None


def test_each_named_performer_gets_a_finding_of_their_own() -> None:
    bo = performer("Bo Stone")
    drafts = CHECK.run(screening(text="Ann Lee and BO STONE", performers=[ANN, bo], consents=[consent(bo, "name")]))
    assert {d.subject: d.covered_by is not None for d in drafts} == {"Ann Lee": False, "Bo Stone": True}
