"""Model profiles for the local stack: which models the services load (`helix up --profile`,
`helix demo --profile`).

- **real** (the demo's default): the real small models that exist on this machine's package
  registries (`helix.models.packaged`): the writer on SmolLM2-135M-Instruct, English voices
  from Piper (en_US-joe), Spanish from eSpeak NG, English to Spanish through Apertium, and
  the listening QC (Whisper base) on every voiced line. Images and every other language pair
  and voice stay on the tiny random models: no real small weights for them are published.
- **tiny**: every model is a tiny random-weight one Helix builds itself: the words, voices and
  pictures are noise, everything around them is real. Fast; what the tests use.

A profile is a set of service settings (the same `HELIX_*` variables an operator sets), made
ready once: the packaged models converted and cached, the programs checked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from helix.events import ModelRef
from helix.settings import helix_home

PROFILE_NAMES = ("real", "tiny")
TOOLS = {"ffmpeg"}  # what makes some assets without any model (the animatic's cut)


class ProfileUnavailable(RuntimeError):
    """Something a profile needs is missing here (the message says what and how to get it)."""


@dataclass(frozen=True)
class Profile:
    name: str
    locales: tuple[str, ...]  # the demo production's target locales
    what: str  # one line for people
    prepare: Callable[[], dict[str, str]] = field(repr=False)  # the services' settings, once everything is ready


def _tiny(name: str) -> str:
    return str(helix_home() / "models" / name)


def _program(name: str, debian: str) -> str:
    program = shutil.which(name)
    if program is None:
        raise ProfileUnavailable(f"the {name} program is not installed (Debian: apt-get install {debian}); "
                                 "`make setup` installs it, or use --profile tiny")
    return program


def _prepare_real() -> dict[str, str]:
    from helix.models import packaged

    try:
        writer, listener = packaged.smollm2(), packaged.whisper_base()
        packaged.piper_joe()
    except packaged.PackageMissing as exc:
        raise ProfileUnavailable(f"{exc}; or use --profile tiny") from None
    _program("espeak-ng", "espeak-ng")
    apertium = _program("apertium", "apertium-eng-spa")
    if "eng-spa" not in subprocess.run([apertium, "-l"], capture_output=True, text=True, timeout=30).stdout.split():
        raise ProfileUnavailable("Apertium has no eng-spa pair here (Debian: apt-get install apertium-eng-spa); or use --profile tiny")
    return {
        "HELIX_WRITER_MODEL": str(writer),
        # Measured on SmolLM2-135M: a whole-answer penalty of 1.3 made it write "Love. Yours. Him.";
        # a light penalty over the last 64 tokens, a 0.9 nucleus and no 4-word run written twice
        # give spoken lines that do not repeat.
        "HELIX_WRITER_TEMPERATURE": "0.5",
        "HELIX_WRITER_TOP_P": "0.9",
        "HELIX_WRITER_REPETITION_PENALTY": "1.1",
        "HELIX_WRITER_REPETITION_WINDOW": "64",
        "HELIX_WRITER_NO_REPEAT_NGRAM": "4",
        "HELIX_WRITER_LINES_PER_SCENE": "8",  # it writes a short scene well and a long one badly
        "HELIX_LOCALIZE_TRANSLATION_MODELS": json.dumps({"en-es": "apertium:eng-spa", "*": _tiny("tiny-marian")}),
        "HELIX_LOCALIZE_VOICES": json.dumps({"en": "piper:joe", "es": "espeak:es", "*": _tiny("tiny-vits")}),
        "HELIX_LOCALIZE_LISTEN": "true",
        "HELIX_LOCALIZE_LISTEN_MODEL": str(listener),
    }


PROFILES = {
    "real": Profile("real", ("es-ES",), "real small models where they exist (SmolLM2 writer, Piper and eSpeak NG voices, Apertium "
                                        "en→es, Whisper listening QC); tiny random ones for images", _prepare_real),
    "tiny": Profile("tiny", ("de-DE", "ja-JP"), "tiny random-weight models everywhere: words, voices and pictures are noise",
                    lambda: {}),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILE_NAMES)}")
    return PROFILES[name]


def origin(model: ModelRef | None) -> str:
    """Whether an asset came from a real model or from random weights (noise)."""
    if model is None:
        return "no model (made by rules)"
    if model.id.split(":")[0] in TOOLS:
        return "a program, no model"
    if Path(model.id).name.startswith("tiny-"):
        return "random weights: noise"
    return "real model"
