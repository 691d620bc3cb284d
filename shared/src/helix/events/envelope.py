"""The CloudEvents 1.0 envelope, Kafka protocol binding, structured JSON mode.

A Kafka record carries the whole event as JSON in its value, `content-type:
application/cloudevents+json` and the W3C `traceparent` in its headers, and the
production id as its key (so one production's events stay ordered in a partition).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any, Generic, Literal, TypeVar, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, create_model

from helix.events.data import EventData

CONTENT_TYPE = "application/cloudevents+json"
D = TypeVar("D", bound=EventData)


class CloudEvent(BaseModel, Generic[D]):
    """A CloudEvents 1.0 event whose `data` is a versioned Helix model."""

    model_config = ConfigDict(extra="allow")  # CloudEvents extension attributes are allowed

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500, description="URI-reference of the producer, e.g. /helix/writer")
    type: str = Field(min_length=1, max_length=200, description="e.g. helix.asset.generated")
    subject: str | None = Field(None, max_length=200, description="The production id")
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    data: D

    @property
    def production_id(self) -> str | None:
        return self.subject


@cache
def envelope_model(model: type[EventData]) -> type[CloudEvent[Any]]:
    """The named envelope of one event type (e.g. `AssetGeneratedEvent`), whose `type` is
    the constant event type: what the JSON Schemas and the AsyncAPI document publish."""
    event_type: Any = Literal[model.event_type]  # a Literal built at run time: a value to mypy, a type to pydantic
    named = create_model(
        f"{model.__name__}Event",
        __base__=CloudEvent[model],  # type: ignore[valid-type]  # a generic parameterised with a run-time class
        __module__=__name__,
        type=(event_type, Field(description="The CloudEvents type")),
    )
    return cast(type[CloudEvent[Any]], named)


def new_event(data: D, *, source: str, event_id: str | None = None, time: datetime | None = None) -> CloudEvent[D]:
    """Wrap event data in an envelope: type and schema come from the data model."""
    return envelope_model(type(data))(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=data.event_type,
        subject=data.production_id,
        time=time or datetime.now(UTC),
        dataschema=data.schema_uri(),
        data=data,
    )


def encode(event: CloudEvent[Any]) -> bytes:
    return event.model_dump_json(exclude_none=True).encode()


class DecodeError(ValueError):
    """Why a Kafka value is not a Helix event; the text goes into the DLQ reason."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind  # not_json | invalid_envelope | unknown_type | invalid_data
        self.detail = detail


class _RawEnvelope(CloudEvent[Any]):  # data checked later, against the registered model
    data: Any = None


def decode(value: bytes | None) -> CloudEvent[EventData]:
    """Parse and validate a structured-mode CloudEvent into its typed Helix model."""
    from helix.events.registry import model_for_type

    if not value:
        raise DecodeError("not_json", "empty message value")
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError("not_json", str(exc)) from None
    if not isinstance(raw, dict):
        raise DecodeError("invalid_envelope", f"expected a JSON object, got {type(raw).__name__}")
    try:
        envelope = _RawEnvelope.model_validate(raw)
    except ValidationError as exc:
        raise DecodeError("invalid_envelope", _summarise(exc)) from None
    model = model_for_type(envelope.type)
    if model is None:
        raise DecodeError("unknown_type", f"no Helix event type {envelope.type!r}")
    try:
        event = envelope_model(model).model_validate(raw)
    except ValidationError as exc:
        raise DecodeError("invalid_data", f"{envelope.type}: {_summarise(exc)}") from None
    if event.subject is not None and event.subject != event.data.production_id:
        raise DecodeError("invalid_envelope", f"subject {event.subject!r} is not the production {event.data.production_id!r}")
    return event


def _summarise(exc: ValidationError, limit: int = 5) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()[:limit]]
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
