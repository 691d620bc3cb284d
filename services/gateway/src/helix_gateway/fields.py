"""Field types of the API's request models: ids with `helix.events.data.Id`'s rules, and
free text that every downstream (Kafka JSON, protobuf, PostgreSQL) can carry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, model_validator

from helix.events.data import ID_PATTERN, Id

_ids = TypeAdapter(Id)
ApiId = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=128), AfterValidator(_ids.validate_python)]


def check_text(value: str) -> str:
    # NUL bytes are refused by PostgreSQL; lone surrogates cannot be encoded as UTF-8
    # (protobuf strings, Kafka JSON). Both are a client's mistake: 422, not a 500 later.
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def bounded(max_length: int, *, min_length: int = 0) -> StringConstraints:
    """A stripped string of bounded length: `Annotated[str, bounded(300), CHECKED]`."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


CHECKED = AfterValidator(check_text)  # no control characters or unpaired surrogates


def _check_strings(value: Any) -> Any:
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k)
            _check_strings(v)
    elif isinstance(value, list):
        for v in value:
            _check_strings(v)
    return value


class ApiModel(BaseModel):
    """Base of request bodies: unknown fields are an error (a typo should not pass silently),
    and no string anywhere in the body may hold NUL or lone surrogates."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _strings_are_clean(cls, data: Any) -> Any:
        try:
            return _check_strings(data)
        except ValueError as exc:
            raise ValueError(str(exc)) from None


# Path parameters every router names the same way.
ProductionId = Annotated[ApiId, Path(description="Production id")]
AssetId = Annotated[ApiId, Path(description="Asset id")]
Version = Annotated[int | None, Query(ge=1, le=999_999, description="Asset version (default: the newest)")]
