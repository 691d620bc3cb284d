"""Keyset pagination: a cursor is the opaque, URL-safe base64 of the last row's sort key.

Pages never use offsets, so a page costs the same wherever it starts and rows inserted
meanwhile neither repeat nor vanish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from helix import pagination
from helix_gateway.problems import ProblemError

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=1000, description="`next_cursor` of the previous page")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; absent on the last page")


def encode_cursor(*key: Any) -> str:
    return pagination.encode_cursor([v.isoformat() if isinstance(v, datetime) else v for v in key])


def decode_cursor(cursor: str, *types: type) -> tuple[Any, ...]:
    """The sort key a cursor holds, checked against the expected types (422 if it is not ours)."""
    try:
        raw = pagination.decode_cursor(cursor, len(types)) or []
        if len(raw) != len(types):
            raise ValueError("wrong shape")
        return tuple(_typed(value, kind) for value, kind in zip(raw, types, strict=True))
    except (ValueError, TypeError):  # InvalidCursor is a ValueError
        raise ProblemError(422, "the cursor is not one this API issued", type="urn:helix:problem:invalid-cursor") from None


def _typed(value: Any, kind: type) -> Any:
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive time in cursor")
        return parsed
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError("not an int")
    if kind is str and not isinstance(value, str):
        raise ValueError("not a string")
    return value
