"""The policy terms check: each term the production bans is flagged where the asset's text
names it as a whole word, whatever its case."""

from __future__ import annotations

from helix_review.checks import Severity
from helix_review.checks.policy import PolicyTermsCheck
from helix_review.db import Policy

from ..conftest import NOW, screening

CHECK = PolicyTermsCheck()


def policy(*terms: str) -> Policy:
    return Policy(production_id="lighthouse", banned_terms=list(terms), performers=[], updated_by="root", updated_at=NOW)


def test_no_policy_means_nothing_is_banned() -> None:
    assert CHECK.run(screening(text="Drink Fizzcola in Springfield")) == []


def test_each_banned_term_found_is_one_medium_finding() -> None:
    drafts = CHECK.run(screening(text="MARA drinks a FIZZCOLA on the Pier.", policy=policy("Fizzcola", "pier", "Springfield")))
    assert sorted(d.subject for d in drafts) == ["Fizzcola", "pier"]
    assert all(d.severity is Severity.MEDIUM and not d.blocks_approval and "lighthouse" in d.message for d in drafts)


def test_a_term_inside_another_word_is_not_flagged() -> None:
    assert CHECK.run(screening(text="The piers and Fizzcolas", policy=policy("pier", "Fizzcola"))) == []


def test_a_term_of_several_words_matches_across_line_breaks() -> None:
    [draft] = CHECK.run(screening(text="the old\nlight house", policy=policy("old light house")))
    assert draft.subject == "old light house"
