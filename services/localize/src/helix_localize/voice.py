"""Text to speech with `transformers`' `VitsModel` (the MMS-TTS family), or a Piper or eSpeak NG
voice (`programs`), per language and per character voice, batched (`Speaker`, a Batcher: lines of one model, speaker and speaking
rate share one forward pass).

Voices (`HELIX_LOCALIZE_VOICES`, JSON): `"de": "facebook/mms-tts-deu"`, `"*"` for any
language; a language with none is "a locale with no voice". A character's voice is a
speaker of a multi-speaker model: configured (`HELIX_LOCALIZE_CHARACTER_VOICES`,
`{"MARA": 2}`) or a stable choice from the name (distinct within a cast while speakers
last), so a character keeps one voice in every scene. The speaking rate is VITS's own (`speaking_rate` scales the predicted durations),
which sounds better than stretching audio afterwards. VITS samples noise: every call is
seeded from the batch's lines, so the same lines give the same audio.

In the service the voices speak in worker processes (`HELIX_LOCALIZE_SPEECH_WORKERS`, 2 by
default), each with its own copy of the model. A VITS forward is a long chain of small
operations, mostly Python: run in the service's process it held the GIL that the event loop
needs to accept work and react to decisions, and one core ran it at a time. In processes, two
batches speak at once and the service's own threads stay quick.
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from helix.events import ModelRef
from helix.generation.jobs import JobRefused
from helix.models.batching import Batcher, Pending
from helix.models.loading import Device, SharedInstances, model_source, pin, resolve_device, weights_hash
from helix.processes import forkserver, start_worker
from helix_localize import programs


@dataclass(frozen=True, eq=False)
class LoadedVoice:
    model: Any
    tokenizer: Any
    ref: ModelRef
    sampling_rate: int
    speakers: int
    device: str


    def speak(self, texts: list[str], speaker: int, rate: float, seed: int) -> tuple[list[np.ndarray], float]:
        """The lines in one forward pass (padded together), seeded; also the seconds it took."""
        import torch

        inputs = self.tokenizer([text or "…" for text in texts], return_tensors="pt", padding=True).to(self.device)
        started = time.perf_counter()
        with torch.inference_mode(), torch.random.fork_rng(devices=[] if self.device == "cpu" else None):
            torch.manual_seed(seed)
            out = self.model(**inputs, speaker_id=speaker if self.speakers > 1 else None, speaking_rate=rate)
        took = time.perf_counter() - started
        waves = out.waveform.float().cpu().numpy()
        lengths = out.sequence_lengths.cpu().tolist() if out.sequence_lengths is not None else [waves.shape[1]] * len(texts)
        return [waves[i, : int(lengths[i])].astype(np.float32) for i in range(len(texts))], took


class Voice(Protocol):
    """What the Speaker needs of a voice: a VITS model here, a Piper or eSpeak NG voice (`programs`)."""

    @property
    def ref(self) -> ModelRef: ...

    @property
    def sampling_rate(self) -> int: ...

    @property
    def speakers(self) -> int: ...

    @property
    def device(self) -> str: ...

    def speak(self, texts: list[str], speaker: int, rate: float, seed: int) -> tuple[list[np.ndarray], float]: ...


_voices: SharedInstances[LoadedVoice] = SharedInstances()


def load_voice(model_id_or_path: str, *, revision: str = "main", device: Device = "auto") -> LoadedVoice:
    model_id, local = model_source(model_id_or_path)
    real_device = resolve_device(device)
    return _voices.get((model_id, revision, real_device), lambda: _load(model_id, revision, real_device, local=local))


def _load(model_id: str, revision: str, device: str, *, local: bool) -> LoadedVoice:
    from transformers import AutoTokenizer, VitsModel

    kwargs, pinned = pin(model_id, revision, local=local, hash_folder=weights_hash)
    tokenizer = AutoTokenizer.from_pretrained(model_id, **kwargs)
    model = VitsModel.from_pretrained(model_id, **kwargs).to(device).eval()  # type: ignore[arg-type]  # stubs type `to` for dtypes only
    resolved = pinned or getattr(model.config, "_commit_hash", None) or revision
    return LoadedVoice(model, tokenizer, ModelRef(id=model_id, revision=resolved), int(model.config.sampling_rate),
                       int(model.config.num_speakers), device)


def pick_voice(voices: dict[str, str], locale: str) -> str:
    language = locale.split("-")[0].lower()
    for key in (locale, language, "*"):
        if key in voices:
            return voices[key]
    raise JobRefused(f"no voice for locale {locale}: HELIX_LOCALIZE_VOICES has {', '.join(sorted(voices)) or 'nothing'}")


def cast_voices(characters: list[str], speakers: int, configured: dict[str, int]) -> dict[str, int]:
    """Each character's speaker id: configured ones first, then a stable choice from the name,
    moving on to the next free speaker while there are any, so a cast sounds like several people."""
    wanted = {k.upper(): v for k, v in configured.items()}
    voices: dict[str, int] = {}
    for character in sorted(set(characters), key=str.upper):
        if speakers <= 1:
            voices[character] = 0
        elif character.upper() in wanted:
            chosen = wanted[character.upper()]
            if not 0 <= chosen < speakers:
                raise JobRefused(f"voice {chosen} for {character} is not one of the model's {speakers} speakers")
            voices[character] = chosen
    for character in sorted(set(characters) - set(voices), key=str.upper):
        taken = set(voices.values())
        first = int(hashlib.sha256(character.upper().encode()).hexdigest(), 16) % speakers
        free = [(first + k) % speakers for k in range(speakers) if (first + k) % speakers not in taken]
        voices[character] = free[0] if free else first
    return voices


@dataclass(frozen=True)
class SpeechSpec:
    model: str
    text: str
    speaker: int
    rate: float  # VITS speaking rate: 1.0 natural, 1.2 = 20 % faster
    seed: int


@dataclass(frozen=True)
class Speech:
    audio: np.ndarray  # float32, mono, at `sampling_rate`
    sampling_rate: int
    model_seconds: float
    compute_seconds: float

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sampling_rate


def any_voice(model: str, device: Device) -> Voice:
    """A VITS model by id or folder, or a Piper or eSpeak NG voice (`programs`)."""
    if programs.is_program_voice(model):
        return programs.load_program_voice(model)
    return load_voice(model, device=device)


def _speak(model: str, device: Device, texts: list[str], speaker: int, rate: float, seed: int) -> tuple[list[np.ndarray], float, int]:
    voice = any_voice(model, device)
    waves, took = voice.speak(texts, speaker, rate, seed)
    return waves, took, voice.sampling_rate


# Imported once by the fork server the speech processes fork from (`helix.processes.forkserver`).
PRELOAD = ["torch", "transformers", "helix_localize.voice"]


class Speaker(Batcher[SpeechSpec, Speech]):
    def __init__(self, *, device: Device = "auto", max_batch: int = 16, max_queue: int = 256, batch_wait_s: float = 0.01,
                 workers: int = 1, processes: bool = False, threads: int = 0, nice: int = 0) -> None:
        """`workers` batches at once; with `processes`, each in a worker process of its own
        (`threads`: torch's threads there; `nice`: their CPU priority below the service's)."""
        super().__init__(key=lambda s: (s.model, s.speaker, round(s.rate, 3)), max_batch=max_batch, max_queue=max_queue,
                         batch_wait_s=batch_wait_s, name="speech engine", size=lambda s: len(s.text),  # audio grows with the text
                         workers=workers)
        self.device = device
        self.processes, self.threads, self.nice = processes, threads, nice
        self._processes: ProcessPoolExecutor | None = None

    def loaded(self, model: str) -> Voice:
        return any_voice(model, self.device)

    async def start(self) -> None:
        if self.processes and self._processes is None:
            # forked from a clean fork server that imported torch once, never from the service
            # itself: a fork of a process with threads (and CUDA) is not safe
            self._processes = ProcessPoolExecutor(self.workers, mp_context=forkserver(PRELOAD),
                                                  initializer=start_worker, initargs=(self.nice, self.threads, dict(os.environ)))
            for _ in range(self.workers):  # start them now: importing torch takes seconds
                self._processes.submit(time.sleep, 0)
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        if self._processes is not None:
            self._processes.shutdown(wait=False, cancel_futures=True)
            self._processes = None

    async def say(self, spec: SpeechSpec) -> Speech:
        return await self.submit(spec)

    def run_batch(self, batch: list[Pending[SpeechSpec]]) -> list[Speech]:
        spec = batch[0].spec
        seed = sum(r.spec.seed for r in batch) % (2**63)
        texts = [r.spec.text for r in batch]
        if self._processes is not None:
            waves, took, sampling_rate = self._processes.submit(_speak, spec.model, self.device, texts, spec.speaker, spec.rate, seed).result()
        else:
            waves, took, sampling_rate = _speak(spec.model, self.device, texts, spec.speaker, spec.rate, seed)
        return [Speech(wave, sampling_rate, took, took / len(batch)) for wave in waves]
