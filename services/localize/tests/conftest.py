"""Localize test fixtures: the Earnest test dialogue (timed source + hand translations)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helix_localize.formats import read_timed
from helix_localize.subtitles import Cue

DATA = Path(__file__).parent / "data" / "earnest"


@pytest.fixture(scope="session")
def earnest_lines() -> list[dict]:
    return json.loads((DATA / "lines.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def earnest_timing() -> list[tuple[float, float, str]]:
    return read_timed((DATA / "dialogue.en.srt").read_bytes(), name="dialogue.en.srt")


def cues_for(lines: list[dict], timing: list[tuple[float, float, str]], language: str) -> list[Cue]:
    return [Cue(line["line_id"], line["speaker"], line[language], start, end) for line, (start, end, _) in zip(lines, timing, strict=True)]


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> str:
    from helix_dev.models.tiny_localize import build_tiny_marian

    return str(build_tiny_marian(tmp_path_factory.mktemp("tiny-marian")))


@pytest.fixture(scope="session")
def tiny_vits(tmp_path_factory: pytest.TempPathFactory) -> str:
    from helix_dev.models.tiny_localize import build_tiny_vits

    return str(build_tiny_vits(tmp_path_factory.mktemp("tiny-vits")))
