"""The committed AsyncAPI document is what the code generates, and every $ref resolves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import yaml

from helix.events import EVENT_MODELS, Topic

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_committed_asyncapi_is_current(tmp_path: Path) -> None:
    out = tmp_path / "asyncapi.yaml"
    subprocess.run(
        [sys.executable, "-m", "faststream", "docs", "gen", "helix.events.asyncapi:app", "--yaml", "--out", str(out)],
        check=True, capture_output=True,
    )
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(DOC.read_text()), "run `make asyncapi` and commit docs/asyncapi.yaml"


def test_asyncapi_documents_every_topic_and_type() -> None:
    doc = yaml.safe_load(DOC.read_text())
    assert set(doc["channels"]) == {t.value for t in Topic}
    schemas = doc["components"]["schemas"]
    for model in EVENT_MODELS:
        envelope = schemas[f"{model.__name__}Event"]
        assert envelope["properties"]["type"]["const"] == model.event_type
    for ref in _refs(doc):
        node = doc
        for part in unquote(ref).removeprefix("#/").split("/"):
            assert part in node, f"dangling {ref}"
            node = node[part]
