"""Localize settings: the HELIX_* environment, like every Helix process, plus its models and rules."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from helix.settings import HelixSettings, helix_home, infra_env_file


class LocalizeSettings(HelixSettings):
    service_name: str = "localize"
    # Translation models per language pair ("en-de", "en-*", "*-de", "*"; "en-de@formal"):
    # a Hugging Face id or a folder, or `apertium:<mode>` (e.g. `apertium:eng-spa`, the Debian
    # program). Empty: the tiny random Marian Helix builds, for every pair.
    localize_translation_models: dict[str, str] = Field(default_factory=dict)
    # Voices per locale or language ("de-DE", "de", "*"): a VITS / MMS-TTS id or folder,
    # `piper:joe` / `piper:<path.onnx>` (a Piper voice), or `espeak:<voice>` (eSpeak NG).
    # Empty: the tiny random VITS Helix builds, for every language.
    localize_voices: dict[str, str] = Field(default_factory=dict)
    localize_character_voices: dict[str, int] = Field(default_factory=dict)  # character -> speaker of the voice model
    localize_markets: dict[str, dict[str, Any]] = Field(default_factory=dict)  # locale -> formality / measurement / avoid
    localize_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    localize_device: Literal["auto", "cpu", "cuda"] = "auto"
    localize_num_beams: int = Field(1, ge=1, le=8)
    localize_max_batch: int = Field(32, ge=1, le=512)
    localize_max_queue: int = Field(512, ge=1, le=100_000)
    # Speech batches that run at once, each in a worker process of its own (`voice.py`): a VITS
    # forward is a long chain of small Python-driven operations, which in the service's process
    # held the GIL its event loop needs, on one core. 0: in the service's process, one at a time.
    localize_speech_workers: int = Field(2, ge=0, le=16)
    # Dubbing: how far a line may be sped up in all (VITS rate × stretch), how much the rate
    # may change from one line to the next, slowing down only when allowed.
    localize_rate_cap: float = Field(1.3, ge=1.0, le=2.0)
    localize_rate_step: float = Field(0.1, ge=0.01, le=1.0)
    localize_allow_slowdown: bool = False
    localize_min_rate: float = Field(0.8, gt=0.3, le=1.0)
    localize_loudness_lufs: float = Field(-23.0, ge=-40, le=-5)  # EBU R128
    # Ask the writer for shorter lines when some do not fit (its gRPC ShortenLines); while the
    # writer is away, retry this long, then dub the lines as they are and report the overshoot.
    localize_shorten_with_writer: bool = True
    localize_shorten_timeout_s: float = Field(120.0, ge=1)
    localize_writer_address: str = "127.0.0.1:50071"
    localize_grpc_address: str = "127.0.0.1:50091"  # health and ServerInfo only
    # Voice casting (`casting.py`): the review service's gRPC address, where each production's
    # casting and the consents its performers' voices rely on are kept; read at every job, retried
    # this long while review is away. Empty: the configured voices alone, never a performer's.
    localize_casting_address: str = ""
    localize_casting_timeout_s: float = Field(60.0, ge=1)
    # The listening QC: every voiced line transcribed back (Whisper, CTranslate2 format) and
    # compared with its text; lines over the word error rate limit become review findings.
    # The model: a folder; empty, the packaged Whisper base (`helix models real whisper-base`).
    # Off by default while the default voices are the tiny random ones (every line would be
    # flagged, at a second or more of Whisper each); the real profile turns it on.
    localize_listen: bool = False
    localize_listen_model: str = ""
    localize_listen_wer_limit: float = Field(0.3, ge=0, le=1)

    def translation_models(self) -> dict[str, str]:
        return self.localize_translation_models or {"*": str(helix_home() / "models" / "tiny-marian")}

    def listen_model(self) -> str:
        if self.localize_listen_model:
            return self.localize_listen_model
        from helix.models.packaged import whisper_base

        return str(whisper_base())

    def voices(self) -> dict[str, str]:
        return self.localize_voices or {"*": str(helix_home() / "models" / "tiny-vits")}


def load_localize_settings(**overrides: Any) -> LocalizeSettings:
    env_file = infra_env_file()
    return LocalizeSettings(_env_file=env_file if env_file.is_file() else None, **overrides)
