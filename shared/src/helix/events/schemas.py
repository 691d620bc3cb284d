"""JSON Schemas of every event (envelope + data) and of every stored document another
service reads (`helix.documents`), exported from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from helix.events.data import EventData
from helix.events.envelope import envelope_model
from helix.events.registry import EVENT_MODELS


def event_schema(model: type[EventData]) -> dict[str, Any]:
    schema = envelope_model(model).model_json_schema()
    schema["$id"] = model.schema_uri()
    return schema


def export_schemas(directory: Path) -> list[Path]:
    """Write one `<type>.v<version>.json` per event type; returns the files written."""
    return _write(directory, {f"{m.event_type}.v{m.schema_version}.json": event_schema(m) for m in EVENT_MODELS})


def _write(directory: Path, schemas: dict[str, dict[str, Any]]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (directory / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    return [directory / name for name in schemas]


def document_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["$id"] = f"urn:helix:document:{document_name(model)}"
    return schema


def document_name(model: type) -> str:
    """`LevelDocument[Script]` -> `level-script`; `TranslationDocument` -> `translation`."""
    name = model.__name__
    if name.startswith("LevelDocument["):
        inner = name.removeprefix("LevelDocument[").removesuffix("]").replace("list[", "").replace("]", "")
        return "level-" + inner.rsplit(".", 1)[-1].lower()
    return name.removesuffix("Document").lower()


def export_document_schemas(directory: Path) -> list[Path]:
    """Write one `document.<name>.json` per stored document model; returns the files written."""
    from helix.documents import DOCUMENT_MODELS

    return _write(directory, {f"document.{document_name(m)}.json": document_schema(m) for m in DOCUMENT_MODELS})
