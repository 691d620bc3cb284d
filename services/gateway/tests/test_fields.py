"""Request field types: ids by the events' rules, bounded stripped text, and bodies that refuse
unknown fields and strings no downstream can carry (NUL, lone surrogates) anywhere inside."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import ValidationError

from helix_gateway.fields import CHECKED, ApiId, ApiModel, bounded, check_text


class Body(ApiModel):
    name: Annotated[str, bounded(10, min_length=1), CHECKED]
    ref: ApiId | None = None
    extra: dict[str, Any] = {}
    tags: list[str] = []


def test_text_is_stripped_and_bounded() -> None:
    assert Body(name="  Mara  ").name == "Mara"
    assert Body(name=" " + "x" * 10 + " ").name == "x" * 10  # the bound applies after stripping
    for bad in ("   ", "x" * 11):
        with pytest.raises(ValidationError):
            Body(name=bad)


@pytest.mark.parametrize("value", ["a\x00b", "bad \ud800 surrogate"])
def test_check_text_refuses_what_utf8_or_postgresql_cannot_hold(value: str) -> None:
    with pytest.raises(ValueError):
        check_text(value)
    assert check_text("Grüße, 灯台 ✎") == "Grüße, 灯台 ✎"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a", "extra": {"k": "v\x00"}},
        {"name": "a", "extra": {"k\x00": 1}},
        {"name": "a", "tags": ["ok", "\ud800"]},
        {"name": "a\x00"},
    ],
)
def test_no_string_anywhere_in_a_body_may_hold_nul_or_lone_surrogates(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="NUL|surrogates"):
        Body.model_validate(body)


def test_unknown_fields_are_an_error() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Body.model_validate({"name": "a", "nmae": "typo"})


@pytest.mark.parametrize(
    ("ref", "ok"),
    [("script-0001", True), ("a" * 128, True), ("a" * 129, False), ("has space", False), ("", False), ("../etc", False)],
)
def test_ids_follow_the_event_id_rules(ref: str, ok: bool) -> None:
    if ok:
        assert Body(name="a", ref=ref).ref == ref
    else:
        with pytest.raises(ValidationError):
            Body(name="a", ref=ref)
