from __future__ import annotations

from helix_localize.market import adapt, avoided, profile_for


def test_units_times_and_numbers_follow_the_market_with_every_change_recorded() -> None:
    de = adapt("We walked 10 miles and paid 1,500.50 at 5 p.m.", profile_for("de-DE"))
    assert de.text == "We walked 16 km and paid 1.500,50 at 17:00."
    assert [c["rule"] for c in de.changes] == ["units", "time", "number"]
    assert {t.text for t in de.locked} == {"16 km", "17:00", "1.500,50"}, "what the profile wrote is locked"
    us = adapt("We walked 10 miles.", profile_for("en-US"))
    assert us.text == "We walked 10 miles." and us.changes == [], "an imperial market keeps miles"
    assert profile_for("en-US").measurement == "imperial" and profile_for("en-GB").measurement == "metric"


def test_terms_to_avoid_and_formality_come_from_the_profile() -> None:
    profile = profile_for("de-DE", {"formality": "formal", "avoid": ["Kumpel"]})
    assert profile.formality == "formal" and avoided("Hallo Kumpel!", profile) == ["Kumpel"] and avoided("Hallo!", profile) == []
