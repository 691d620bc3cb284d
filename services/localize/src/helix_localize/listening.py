"""The dub QC that listens: each voiced line is transcribed back with Whisper (through
faster-whisper, CTranslate2) and compared with the text it should say.

Per line: the word error rate and the character error rate (`jiwer`, after the same
normalisation on both sides: case, punctuation, spacing). A line over `wer_limit` is a line
a listener would not understand as written: a mumbled synthesis, noise from a random voice,
audio swapped with another line's. The language is the locale's, never detected (a detector
would happily call noise Welsh). The model is a folder in CTranslate2's Whisper format: by
default the packaged Whisper base that `helix models whisper` assembles, or any other by
setting (`HELIX_LOCALIZE_LISTEN_MODEL`).
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helix.events import ModelRef
from helix.models.loading import SharedInstances, weights_hash

WHISPER_RATE = 16_000


@dataclass(frozen=True)
class Heard:
    """One line as Whisper heard it."""

    line_id: str
    text: str
    transcript: str
    wer: float
    cer: float
    seconds: float  # of audio

    def over(self, wer_limit: float) -> bool:
        return self.wer > wer_limit


def normalise(text: str) -> str:
    """Case-folded words without punctuation (what both sides are compared as)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch).startswith(("P", "S")) else ch for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def error_rates(reference: str, hypothesis: str) -> tuple[float, float]:
    """(word error rate, character error rate) of `hypothesis` against `reference`; an empty
    reference is matched only by an empty hypothesis."""
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return (0.0, 0.0) if not hyp else (1.0, 1.0)
    if not hyp:
        return 1.0, 1.0
    return float(jiwer.wer(ref, hyp)), float(jiwer.cer(ref, hyp))


@dataclass(frozen=True, eq=False)
class LoadedWhisper:
    model: Any  # faster_whisper.WhisperModel
    folder: Path
    revision: str  # sha256 of the weights
    lock: threading.Lock  # one transcription at a time per model (CTranslate2 runs its own threads)


_whispers: SharedInstances[LoadedWhisper] = SharedInstances()


def load_whisper(folder: str | Path, *, device: str = "cpu", compute_type: str = "int8", threads: int = 0) -> LoadedWhisper:
    path = Path(folder).expanduser()
    if not (path / "model.bin").is_file():
        raise FileNotFoundError(f"no Whisper model (model.bin in CTranslate2 format) in {path}: run `helix models real whisper-base`")

    def load() -> LoadedWhisper:
        from faster_whisper import WhisperModel

        model = WhisperModel(str(path), device=device, compute_type=compute_type, cpu_threads=threads, local_files_only=True)
        return LoadedWhisper(model, path, weights_hash(path), threading.Lock())  # model.bin: the weights

    return _whispers.get((str(path.resolve()), device, compute_type), load)


class Listener:
    """Transcribes lines back and scores them against their text."""

    def __init__(self, folder: str | Path, *, device: str = "cpu", compute_type: str = "int8", threads: int = 0) -> None:
        self.folder = Path(folder)
        self.device, self.compute_type, self.threads = device, compute_type, threads

    def loaded(self) -> LoadedWhisper:
        return load_whisper(self.folder, device=self.device, compute_type=self.compute_type, threads=self.threads)

    def ref(self) -> ModelRef:
        """The model as provenance records it: the folder's name, pinned by the hash of its weights."""
        loaded = self.loaded()
        return ModelRef(id=f"whisper:{loaded.folder.name}", revision=loaded.revision)

    def transcribe(self, audio: np.ndarray, rate: int, language: str) -> str:
        from helix_localize.audio import resample

        loaded = self.loaded()
        samples = resample(np.asarray(audio, dtype=np.float32), rate, WHISPER_RATE)
        with loaded.lock:
            segments, _info = loaded.model.transcribe(samples, language=language, beam_size=1, vad_filter=False,
                                                      condition_on_previous_text=False, without_timestamps=True)
            return " ".join(segment.text.strip() for segment in segments).strip()

    def hear(self, line_id: str, text: str, audio: np.ndarray, rate: int, language: str) -> Heard:
        transcript = self.transcribe(audio, rate, language)
        wer, cer = error_rates(text, transcript)
        return Heard(line_id=line_id, text=text, transcript=transcript, wer=round(wer, 4), cer=round(cer, 4),
                     seconds=round(len(audio) / rate, 3))

    def hear_all(self, lines: list[tuple[str, str, np.ndarray, int]], language: str) -> tuple[list[Heard], float]:
        """Every line `(line_id, text, audio, rate)`; also the seconds spent listening."""
        started = time.perf_counter()
        heard = [self.hear(line_id, text, audio, rate, language) for line_id, text, audio, rate in lines]
        return heard, time.perf_counter() - started
