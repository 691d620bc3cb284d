"""Event contracts: envelope encoding, decoding errors, examples, schemas."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pydantic import ValidationError

from helix.events import (
    EVENT_MODELS,
    AssetGenerated,
    DecodeError,
    ReviewRevisionRequested,
    Topic,
    decode,
    encode,
    model_for_type,
    models_on,
    new_event,
)
from helix.events.examples import EXAMPLES, example
from helix.events.schemas import event_schema, export_schemas


def test_every_event_type_has_a_topic_and_an_example() -> None:
    assert set(EXAMPLES) == set(EVENT_MODELS)
    assert {m.topic for m in EVENT_MODELS} == set(Topic) - {Topic.DLQ}
    assert models_on(Topic.DLQ) == ()


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.event_type)
def test_encode_decode_round_trip(model: type) -> None:
    event = new_event(example(model), source="/helix/tests")
    body = json.loads(encode(event))
    assert body["specversion"] == "1.0" and body["type"] == model.event_type
    assert body["subject"] == event.data.production_id
    assert body["dataschema"] == f"urn:helix:schema:{model.event_type}:1"
    assert datetime.fromisoformat(body["time"]).tzinfo is not None
    decoded = decode(encode(event))
    assert type(decoded.data) is model and decoded == event


@pytest.mark.parametrize(
    "value, kind, fragment",
    [
        (b"", "not_json", "empty"),
        (b"{nope", "not_json", ""),
        (b'"a string"', "invalid_envelope", "JSON object"),
        (b'{"id": "1"}', "invalid_envelope", "source: Field required"),
        (b'{"specversion": "0.3", "id": "1", "source": "s", "type": "t", "time": "2026-01-01T00:00:00Z", "data": {}}', "invalid_envelope", "specversion"),
        (b'{"id": "1", "source": "s", "type": "helix.nope", "time": "2026-01-01T00:00:00Z", "data": {}}', "unknown_type", "helix.nope"),
    ],
)
def test_decode_errors_say_what_is_wrong(value: bytes, kind: str, fragment: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode(value)
    assert err.value.kind == kind and fragment in str(err.value)


def test_naive_time_and_subject_mismatch_are_rejected() -> None:
    body = json.loads(encode(new_event(example(AssetGenerated), source="/t")))
    with pytest.raises(DecodeError, match="invalid_envelope"):
        decode(json.dumps({**body, "time": "2026-01-01T00:00:00"}).encode())
    with pytest.raises(DecodeError, match="subject 'other' is not the production"):
        decode(json.dumps({**body, "subject": "other"}).encode())


def test_newer_producers_may_add_fields() -> None:
    body = json.loads(encode(new_event(example(AssetGenerated), source="/t")))
    body["data"]["added_in_a_later_minor"] = {"x": 1}
    body["helixextension"] = "kept"  # a CloudEvents extension attribute
    event = decode(json.dumps(body).encode())
    assert isinstance(event.data, AssetGenerated)


def test_model_rules() -> None:
    with pytest.raises(ValidationError, match="must name the model"):
        example(AssetGenerated, model=None)  # AI-generated assets carry their model
    assert example(AssetGenerated, model=None, authorship="human").model is None
    with pytest.raises(ValidationError):
        example(ReviewRevisionRequested, notes="")  # a revision says what to change
    with pytest.raises(ValidationError, match="ids are"):
        example(AssetGenerated, production_id="../etc")
    with pytest.raises(ValidationError):
        example(AssetGenerated, sha256="not-a-digest")


def test_json_schemas_are_exported_for_every_type(tmp_path) -> None:
    files = export_schemas(tmp_path)
    assert len(files) == len(EVENT_MODELS)
    schema = json.loads((tmp_path / "helix.asset.generated.v1.json").read_text())
    assert schema["$id"] == "urn:helix:schema:helix.asset.generated:1"
    assert schema["properties"]["type"]["const"] == "helix.asset.generated"
    assert "sha256" in schema["$defs"]["AssetGenerated"]["required"]


def test_registry() -> None:
    assert model_for_type("helix.asset.generated") is AssetGenerated
    assert model_for_type("helix.asset.generated.v2") is None
    assert event_schema(AssetGenerated)["title"] == "AssetGeneratedEvent"
