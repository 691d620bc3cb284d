"""JSON Schemas of every event (envelope + data), exported from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helix.events.envelope import envelope_model
from helix.events.registry import EVENT_MODELS


def event_schema(model: type) -> dict[str, Any]:
    schema = envelope_model(model).model_json_schema()
    schema["$id"] = model.schema_uri()
    return schema


def export_schemas(directory: Path) -> list[Path]:
    """Write one `<type>.v<version>.json` per event type; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for model in EVENT_MODELS:
        path = directory / f"{model.event_type}.v{model.schema_version}.json"
        path.write_text(json.dumps(event_schema(model), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
