"""Locked terms survive translation in every line, whatever the model does with them."""

from __future__ import annotations

import random

import pytest

from helix_localize.terms import LockedTerm, translate_locked

TERMS = [LockedTerm("Algernon", "character"), LockedTerm("Lady Bracknell", "character"), LockedTerm("Half Moon Street", "place"),
         LockedTerm("cucumber sandwiches", "glossary")]
LINES = ["Algernon, have you got the cucumber sandwiches cut for Lady Bracknell?",
         "We are in Half Moon Street, Algernon.", "Nothing locked here.", "LADY BRACKNELL is coming."]


async def polite_model(texts: list[str]) -> list[str]:
    return [t.upper().replace("HAVE YOU GOT", "HABEN SIE") for t in texts]  # keeps ⟦n⟧ placeholders


async def mangling_model(texts: list[str]) -> list[str]:
    rng = random.Random(0)
    return ["".join(rng.choice("abcdefghij ") for _ in range(len(t))) for t in texts]  # keeps nothing


@pytest.mark.parametrize("model, method", [(polite_model, "placeholders"), (mangling_model, "segments")])
async def test_every_locked_term_survives(model, method: str) -> None:  # noqa: ANN001
    out = await translate_locked(LINES, TERMS, model)
    for line in out:
        assert line.missing == []
        for term in line.terms:
            assert term.text in line.target
    assert out[0].method == method and out[2].method == "plain"
    assert [t.text for t in out[0].terms] == ["Algernon", "cucumber sandwiches", "Lady Bracknell"]
    assert [t.text for t in out[3].terms] == ["LADY BRACKNELL"], "found whatever its case, kept as the line wrote it"


async def test_a_market_rendering_replaces_the_term_and_a_miss_is_reported() -> None:
    km = LockedTerm("10 miles", "market", rendering="16 km")
    out = await translate_locked(["We walked 10 miles."], [km], polite_model)
    assert "16 km" in out[0].target and out[0].missing == []

    async def dropping(texts: list[str]) -> list[str]:
        return ["gone" for _ in texts]

    out = await translate_locked(["We walked 10 miles."], [km], dropping)
    assert "16 km" in out[0].target, "segments put the term back"


async def test_languages_without_spaces_are_joined_without_them() -> None:
    async def japanese(texts: list[str]) -> list[str]:
        return ["、" + "は" * 3 for _ in texts]

    out = await translate_locked(["Algernon is late."], TERMS, japanese, joiner="")
    assert out[0].target == "Algernon、ははは" and out[0].method == "segments"
