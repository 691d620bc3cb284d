"""Voices that are not `transformers` models: Piper voices (VITS exported to ONNX, run with
onnxruntime) and eSpeak NG.

Both need the `espeak-ng` program (Debian `espeak-ng`, GPL-3), which Helix runs as a separate
process and never links: Piper's phonemes come from it (`espeak-ng -q --ipa`), and eSpeak NG
also speaks about a hundred languages itself, robotic but real, for a locale no other voice
covers.

Model names (`HELIX_LOCALIZE_VOICES`):
- `piper:<path to .onnx>` (its `.onnx.json` beside it), or `piper:joe` for the packaged
  en_US-joe-medium voice;
- `espeak:<espeak voice>`, e.g. `espeak:es`, `espeak:de`.

And one translator that is a program: Apertium (Debian `apertium-<pair>`, GPL-2, run as a
process), rule-based, clumsy but real, for the pairs installed (`apertium -l`):
`HELIX_LOCALIZE_TRANSLATION_MODELS='{"en-es": "apertium:eng-spa"}'`.

Piper is run with its noise at zero, so the same line gives the same audio (the model's
sampled prosody would differ on every call). The speaking rate is Piper's own
(`length_scale` = 1 / rate), like VITS's `speaking_rate`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helix.events import ModelRef
from helix.generation.jobs import JobRefused
from helix.models.loading import SharedInstances

PIPER_PREFIX, ESPEAK_PREFIX, APERTIUM_PREFIX = "piper:", "espeak:", "apertium:"
_CLAUSE = re.compile(r"([^.,;:!?…]+)([.,;:!?…]*)")


def espeak_program() -> str:
    program = shutil.which("espeak-ng")
    if program is None:
        raise FileNotFoundError("the espeak-ng program is not installed (Debian: apt-get install espeak-ng); "
                                "Piper and eSpeak voices need it")
    return program


def espeak_voices() -> set[str]:
    """The voice names the installed espeak-ng knows (`espeak-ng --voices`)."""
    out = subprocess.run([espeak_program(), "--voices"], capture_output=True, text=True, check=True, timeout=30).stdout
    names: set[str] = set()
    for row in out.splitlines()[1:]:
        cols = row.split()
        if len(cols) >= 5:
            names.update({cols[1], cols[4], cols[4].rsplit("/", 1)[-1]})
    return names


def phonemize(text: str, voice: str) -> str:
    """IPA phonemes for `text` as Piper's training saw them: each clause phonemized by espeak-ng,
    its punctuation kept (it shapes the pauses), clauses joined by a space."""
    program = espeak_program()
    parts: list[str] = []
    for words, punctuation in _CLAUSE.findall(text):
        if not words.strip():
            continue
        out = subprocess.run([program, "-q", "--ipa", "-v", voice, words.strip()], capture_output=True, text=True, check=True, timeout=30)
        phonemes = " ".join(line.strip() for line in out.stdout.splitlines() if line.strip())
        parts.append(phonemes + punctuation[:1])
    return " ".join(parts)


@dataclass(frozen=True, eq=False)
class PiperVoice:
    """A Piper voice: its ONNX session and the phoneme table it was trained with."""

    session: Any  # onnxruntime.InferenceSession
    phoneme_ids: dict[str, list[int]]
    espeak_voice: str
    length_scale: float
    ref: ModelRef
    sampling_rate: int
    speakers: int
    device: str = "cpu"

    def ids(self, phonemes: str) -> list[int]:
        """Piper's id sequence: start, each known phoneme followed by the pad, end."""
        pad, ids = self.phoneme_ids["_"], list(self.phoneme_ids["^"])
        for ch in phonemes:
            if ch in self.phoneme_ids:
                ids.extend(self.phoneme_ids[ch])
                ids.extend(pad)
        ids.extend(self.phoneme_ids["$"])
        return ids

    def speak(self, texts: list[str], speaker: int, rate: float, seed: int) -> tuple[list[np.ndarray], float]:
        del seed  # noise is off: the same line always sounds the same
        started = time.perf_counter()
        waves = []
        for text in texts:  # the exported graph returns no per-item lengths: one line per run
            ids = np.array([self.ids(phonemize(text, self.espeak_voice))], dtype=np.int64)
            feeds: dict[str, np.ndarray] = {"input": ids, "input_lengths": np.array([ids.shape[1]], dtype=np.int64),
                                            "scales": np.array([0.0, self.length_scale / rate, 0.0], dtype=np.float32)}
            if self.speakers > 1:
                feeds["sid"] = np.array([speaker], dtype=np.int64)
            audio = self.session.run(None, feeds)[0]
            waves.append(np.asarray(audio, dtype=np.float32).reshape(-1))
        return waves, time.perf_counter() - started


@dataclass(frozen=True, eq=False)
class EspeakVoice:
    """eSpeak NG speaking one of its voices (formant synthesis: robotic, but the words are real)."""

    voice: str
    ref: ModelRef
    sampling_rate: int = 22_050
    speakers: int = 1
    device: str = "cpu"
    words_per_minute: int = 160

    def speak(self, texts: list[str], speaker: int, rate: float, seed: int) -> tuple[list[np.ndarray], float]:
        import soundfile

        del speaker, seed  # one voice; no randomness
        started = time.perf_counter()
        waves = []
        for text in texts:
            with tempfile.TemporaryDirectory(prefix="helix-espeak-") as folder:  # its --stdout WAV has no length: a file has
                out = Path(folder) / "line.wav"
                subprocess.run([espeak_program(), "-w", str(out), "-v", self.voice, "-s", str(round(self.words_per_minute * rate)),
                                text or "…"], capture_output=True, check=True, timeout=60)
                audio, rate_read = soundfile.read(out, dtype="float32")
            if rate_read != self.sampling_rate:
                raise RuntimeError(f"espeak-ng wrote {rate_read} Hz audio, not {self.sampling_rate}")
            waves.append(np.asarray(audio, dtype=np.float32).reshape(-1))
        return waves, time.perf_counter() - started


_voices: SharedInstances[PiperVoice | EspeakVoice] = SharedInstances()


def is_program_voice(model: str) -> bool:
    return model.startswith((PIPER_PREFIX, ESPEAK_PREFIX))


def load_program_voice(model: str) -> PiperVoice | EspeakVoice:
    return _voices.get((model,), lambda: _load(model))


def _load(model: str) -> PiperVoice | EspeakVoice:
    from helix.models.packaged import file_hash, piper_joe

    if model.startswith(ESPEAK_PREFIX):
        name = model.removeprefix(ESPEAK_PREFIX)
        if name not in espeak_voices():
            raise JobRefused(f"espeak-ng has no voice {name!r} (`espeak-ng --voices` lists them)")
        version = subprocess.run([espeak_program(), "--version"], capture_output=True, text=True, timeout=30).stdout.split()
        return EspeakVoice(voice=name, ref=ModelRef(id=f"espeak-ng:{name}", revision=version[3] if len(version) > 3 else "unknown"))
    import onnxruntime

    name = model.removeprefix(PIPER_PREFIX)
    path = piper_joe() if name == "joe" else Path(name).expanduser()
    config_path = path.with_suffix(".onnx.json")
    if not path.is_file() or not config_path.is_file():
        raise FileNotFoundError(f"no Piper voice at {path} (an .onnx with its .onnx.json beside it)")
    config = json.loads(config_path.read_text())
    if config.get("phoneme_type", "espeak") != "espeak":
        raise ValueError(f"Piper voice {path.name} uses {config['phoneme_type']!r} phonemes; Helix phonemizes with espeak-ng only")
    espeak_program()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # onnxruntime's own thread pool
    return PiperVoice(session=session, phoneme_ids=config["phoneme_id_map"], espeak_voice=config["espeak"]["voice"],
                      length_scale=float(config.get("inference", {}).get("length_scale", 1.0)),
                      ref=ModelRef(id=f"piper:{path.stem}", revision=file_hash(path)),
                      sampling_rate=int(config["audio"]["sample_rate"]), speakers=int(config.get("num_speakers", 1)))


@dataclass(frozen=True, eq=False)
class ApertiumPair:
    """An installed Apertium mode (`eng-spa`): lines in, lines out, one process per batch."""

    mode: str
    ref: ModelRef
    device: str = "cpu"
    dtype: str = "none"  # rules and dictionaries, no weights
    family: str = "apertium"

    def target_prefix(self, target: str) -> str:
        return ""  # the mode is the pair: nothing to tell it

    def forced_bos(self, target: str) -> None:
        return None

    def translate(self, texts: list[str]) -> tuple[list[str], float]:
        """Each text on a line of its own (Apertium keeps line breaks); `-u`: unknown words as
        written, without its `*` mark. A text's own line breaks are folded into spaces."""
        program = shutil.which("apertium")
        if program is None:
            raise FileNotFoundError("the apertium program is not installed (Debian: apt-get install apertium-eng-spa)")
        started = time.perf_counter()
        lines = [" ".join(text.split()) for text in texts]
        out = subprocess.run([program, "-u", self.mode], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True,
                             timeout=300).stdout
        translated = out.rstrip("\n").split("\n")
        if len(translated) != len(lines):  # it merged or split a line: one call per line instead
            translated = [subprocess.run([program, "-u", self.mode], input=line + "\n", capture_output=True, text=True, check=True,
                                         timeout=60).stdout.strip() for line in lines]
        return [t.strip() for t in translated], time.perf_counter() - started


def is_program_translator(model: str) -> bool:
    return model.startswith(APERTIUM_PREFIX)


_pairs: SharedInstances[ApertiumPair] = SharedInstances()


def load_apertium(model: str) -> ApertiumPair:
    def load() -> ApertiumPair:
        mode = model.removeprefix(APERTIUM_PREFIX)
        program = shutil.which("apertium")
        if program is None:
            raise FileNotFoundError("the apertium program is not installed (Debian: apt-get install apertium-eng-spa)")
        modes = subprocess.run([program, "-l"], capture_output=True, text=True, timeout=30).stdout.split()
        if mode not in modes:
            raise JobRefused(f"Apertium has no pair {mode!r} here (installed: {', '.join(modes) or 'none'})")
        return ApertiumPair(mode=mode, ref=ModelRef(id=f"apertium:{mode}", revision="debian"))

    return _pairs.get((model,), load)
