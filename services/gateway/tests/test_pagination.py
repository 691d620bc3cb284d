"""Keyset cursors: what a page's last row encodes comes back typed, and anything else is a 422
problem naming an invalid cursor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helix import pagination
from helix_gateway.pagination import decode_cursor, encode_cursor
from helix_gateway.problems import ProblemError

AT = datetime(2026, 5, 1, 9, 30, 15, 250_000, tzinfo=UTC)


def test_a_cursor_round_trips_its_typed_key() -> None:
    cursor = encode_cursor(AT, "frame-1", 3)
    assert decode_cursor(cursor, datetime, str, int) == (AT, "frame-1", 3)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # URL-safe as it is


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        pagination.encode_cursor(["2026-05-01T09:30:00+00:00", "a"]),  # two values where three are expected
        pagination.encode_cursor(["2026-05-01T09:30:00", "a", 1]),  # a naive time
        pagination.encode_cursor(["yesterday", "a", 1]),
        pagination.encode_cursor(["2026-05-01T09:30:00+00:00", 7, 1]),  # not a string
        pagination.encode_cursor(["2026-05-01T09:30:00+00:00", "a", "1"]),  # not an int
        pagination.encode_cursor(["2026-05-01T09:30:00+00:00", "a", True]),  # a bool is no version
        pagination.encode_cursor({"a": 1}),  # type: ignore[arg-type]
    ],
)
def test_a_cursor_we_did_not_issue_is_a_422(cursor: str) -> None:
    with pytest.raises(ProblemError) as caught:
        decode_cursor(cursor, datetime, str, int)
    assert caught.value.status == 422 and caught.value.type == "urn:helix:problem:invalid-cursor"
