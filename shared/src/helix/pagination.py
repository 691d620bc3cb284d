"""Keyset pagination cursors: opaque to clients, the last row's sort key inside."""

from __future__ import annotations

import base64
import json
from typing import Any


class InvalidCursor(ValueError):
    pass


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":"), default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any] | None:
    """The sort key in `cursor` (None for the first page); InvalidCursor if it is not ours."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor("malformed page cursor") from None
    if not isinstance(key, list) or len(key) != length:
        raise InvalidCursor("malformed page cursor")
    return key
