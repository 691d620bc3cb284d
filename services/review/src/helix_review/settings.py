"""Review service settings (HELIX_* environment, like every Helix process)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from helix.settings import HelixSettings, infra_env_file


class ReviewSettings(HelixSettings):
    service_name: str = "review"
    review_grpc_address: str = "127.0.0.1:50061"  # where the gRPC API binds (port 0: any free port)
    review_lease_seconds: int = Field(300, ge=5, le=86_400)
    # The outbox relay publishes recorded decisions to Kafka. It can run in its own
    # process (set false here and run `helix-review --relay-only` elsewhere).
    review_outbox_relay: bool = True
    review_max_scan_bytes: int = Field(2_000_000, ge=0, description="text assets up to this size are scanned for names")
    review_consent_sweep_s: float = Field(30.0, gt=0, description="how often lapsed consents flag their assets again")
    review_second_share: float = Field(0.1, ge=0, le=1, description="share of decisions sampled for a second reviewer")
    review_sla_seconds: float = Field(4 * 3600, gt=0, description="an item should be decided within this long of arriving")
    # Likeness screening (`likeness.py`): generated images and voice-overs compared with the
    # reference images and recordings performers' consents carry: a CLIP image encoder and a
    # speaker-verification (x-vector) model, each an id or folder; empty: that screening is off.
    review_likeness_model: str = ""
    review_likeness_threshold: float = Field(0.9, ge=-1, le=1, description="cosine similarity from which an image resembles a reference")
    review_drift_threshold: float = Field(0.6, ge=-1, le=1, description="with an image encoder: a character's region of a frame "
                                          "less similar than this to the reference it was drawn with is flagged as drift")
    review_voice_likeness_model: str = ""
    review_voice_likeness_threshold: float = Field(0.9, ge=-1, le=1, description="cosine similarity from which a voice resembles a reference")


def load_review_settings(**overrides: Any) -> ReviewSettings:
    env_file = infra_env_file()
    return ReviewSettings(_env_file=env_file if env_file.is_file() else None, **overrides)
