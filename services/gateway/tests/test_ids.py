"""New production and job ids: readable, unique, and valid `helix.events.data.Id`s."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter

from helix.events.data import Id
from helix_gateway.ids import new_job_id, production_id_for

IDS = TypeAdapter(Id)


@pytest.mark.parametrize(
    ("title", "slug"),
    [("The Lighthouse", "the-lighthouse"), ("  Ça va? -- Oui!  ", "a-va-oui"), ("!!!", "production"), ("灯台", "production")],
)
def test_a_production_id_is_the_titles_slug_and_a_random_suffix(title: str, slug: str) -> None:
    production_id = production_id_for(title)
    assert re.fullmatch(rf"{slug}-[0-9a-f]{{6}}", production_id), production_id
    assert IDS.validate_python(production_id) == production_id


def test_a_long_title_is_cut_without_leaving_a_dash_before_the_suffix() -> None:
    production_id = production_id_for("a" * 59 + " b" * 30)
    slug = production_id.rsplit("-", 1)[0]
    assert len(slug) <= 60 and not slug.endswith("-")
    assert IDS.validate_python(production_id) == production_id


def test_the_same_title_gives_different_ids() -> None:
    assert len({production_id_for("Pilot") for _ in range(20)}) == 20


def test_job_ids_are_unique_valid_ids() -> None:
    ids = {new_job_id() for _ in range(50)}
    assert len(ids) == 50 and all(re.fullmatch(r"job-[0-9a-f]{32}", i) and IDS.validate_python(i) == i for i in ids)
