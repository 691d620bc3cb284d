"""JSON Schemas of every event (envelope + data) and of every stored document another
service reads (`helix.documents`), exported from the pydantic models."""

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


def document_schema(model: type) -> dict[str, Any]:
    schema = model.model_json_schema()  # type: ignore[attr-defined]
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

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for model in DOCUMENT_MODELS:
        path = directory / f"document.{document_name(model)}.json"
        path.write_text(json.dumps(document_schema(model), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
