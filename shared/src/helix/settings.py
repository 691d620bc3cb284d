"""Settings for every Helix process, from the environment (prefix ``HELIX_``).

`helix infra up` writes the addresses and credentials of the local Kafka and MinIO to
``.helix/infra.env``; settings read that file when the variables are not set, so a
service started in the project just works, and exported variables always win.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_MARKER = Path("deploy") / "local" / "kafka" / "pom.xml"


def project_root(start: Path | None = None) -> Path | None:
    """The Helix checkout containing `start` (default: the working directory), if any."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_MARKER).is_file():
            return folder
    return None


def helix_home() -> Path:
    """Where local state lives: $HELIX_HOME, else `.helix/` in the checkout, else ~/.helix."""
    if env := os.environ.get("HELIX_HOME"):
        return Path(env).resolve()
    root = project_root()
    return (root / ".helix") if root else Path.home() / ".helix"


def infra_env_file() -> Path:
    return helix_home() / "infra.env"


class HelixSettings(BaseSettings):
    """Everything a Helix process needs to find Kafka, the asset store and its database."""

    model_config = SettingsConfigDict(env_prefix="HELIX_", extra="ignore")

    service_name: str = "helix"
    environment: str = "local"

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_location: str | None = None
    # Prefixes every topic name: lets several Helix installs (or test runs) share a cluster.
    topic_namespace: str = ""
    topic_partitions: int = Field(6, ge=1)
    topic_replication: int = Field(1, ge=1)
    consumer_session_timeout_ms: int = Field(10_000, ge=1_000)
    # A request consumer keeps polling while its jobs run, so no job, however long, outlasts this.
    consumer_max_poll_interval_ms: int = Field(300_000, ge=10_000)
    # A consumer that has not been a working member of its group for this long, while the
    # broker was reachable all that time, is replaced by a new one (`helix.bus.watchdog`).
    consumer_wedged_after_s: float = Field(90.0, ge=5)
    consumer_stats_every_s: float = Field(5.0, gt=0, le=60)
    # Requests a generator works at once (its engines batch across them); at capacity its
    # partitions are paused and the consumer keeps its group membership.
    jobs_max_in_flight: int = Field(32, ge=1, le=1_000)
    # How long a stopping generator lets running jobs finish before it leaves the group.
    jobs_drain_s: float = Field(25.0, ge=0)
    # CPU threads each model call may use (torch's intra-op pool). Unset: torch's default, one
    # per core of the machine, which oversubscribes it when several services share it (a
    # laptop, a node): set it to the container's CPU limit.
    torch_threads: int | None = Field(None, ge=1, le=512)
    # Niceness of a generator's bulk threads (models, signing, ffmpeg), so that accepting work and
    # recording decisions never wait for a core behind them (`helix.threads`); 0 turns it off.
    bulk_nice: int = Field(10, ge=0, le=19)
    # Messages taken per poll: one dedupe query, one bulk mark, one commit per batch.
    consumer_batch_max: int = Field(100, ge=1, le=10_000)
    consumer_poll_interval_s: float = Field(0.05, gt=0, le=5)
    # Handler retries for transient failures before the message goes to the DLQ.
    retry_attempts: int = Field(5, ge=1)
    retry_backoff_initial_s: float = Field(0.2, gt=0)
    retry_backoff_max_s: float = Field(5.0, gt=0)
    # Processed-event ids are kept longer than Kafka keeps the events (topic retention, 7 days
    # by default), then pruned on this schedule: Kafka cannot redeliver what it has dropped.
    dedupe_keep_s: float = Field(8 * 24 * 3600.0, ge=60)
    dedupe_prune_every_s: float = Field(3600.0, ge=1)
    # How often each process checks it reaches the broker (metric, /readyz, one log line each way).
    broker_probe_every_s: float = Field(5.0, gt=0, le=300)
    # How long a generation job waits for the asset store to come back before its job retries.
    store_outage_s: float = Field(120.0, ge=0)

    # Asset store (any S3 server; MinIO by default)
    s3_endpoint: str = "127.0.0.1:9000"
    s3_public_endpoint: str | None = None  # host clients use for presigned URLs, if different
    s3_access_key: str = "helix"
    s3_secret_key: SecretStr = SecretStr("")
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_bucket: str = "helix-assets"
    presign_max_seconds: int = Field(3600, ge=1)
    s3_max_connections: int = Field(32, ge=1, le=1024)

    # Service state (review queue, gateway read model, processed-event ids)
    database_url: str | None = None

    # Authentication (gateway): HS256 with a shared secret locally, OIDC/JWKS in production
    auth_secret: SecretStr | None = None
    auth_jwks_url: str | None = None
    auth_issuer: str = "helix-local"
    auth_audience: str = "helix"
    auth_roles_claim: str = "roles"
    # The token this service presents to other services' gRPC APIs (e.g. localize asking the
    # writer for shorter lines); unset: minted per call from auth_secret.
    service_token: SecretStr | None = None

    # Content Credentials (C2PA) on generated images, audio and video: the signing chain and
    # key (PEM files) and the trust anchors review verifies against. Unset: a development
    # chain made once under .helix/c2pa (`helix c2pa dev-chain`).
    c2pa_enabled: bool = True
    c2pa_chain: str | None = None
    c2pa_key: str | None = None
    c2pa_trust_anchors: str | None = None
    # What every manifest tells downstream tools of AI training and data mining on the asset
    # (the CAWG training-and-data-mining assertion): not allowed unless the studio says so.
    c2pa_training_mining: Literal["notAllowed", "allowed", "constrained"] = "notAllowed"

    # Observability
    log_level: str = "INFO"
    log_json: bool = True
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    otel_endpoint: str | None = None
    metrics_port: int | None = None

    def topic(self, name: str) -> str:
        """The real topic name for a contract topic, with the namespace applied."""
        return f"{self.topic_namespace}.{name}" if self.topic_namespace else name

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        state = helix_home() / "state"
        state.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{state / (self.service_name + '.db')}"

    def kafka_client_config(self) -> dict[str, str | int | float | bool]:
        """librdkafka settings shared by producers, consumers and the admin client."""
        config: dict[str, str | int | float | bool] = {"bootstrap.servers": self.kafka_bootstrap, "security.protocol": self.kafka_security_protocol.lower()}
        if self.kafka_sasl_mechanism:
            config["sasl.mechanism"] = self.kafka_sasl_mechanism
        if self.kafka_sasl_username:
            config["sasl.username"] = self.kafka_sasl_username
        if self.kafka_sasl_password:
            config["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_ssl_ca_location:
            config["ssl.ca.location"] = self.kafka_ssl_ca_location
        return config


def load_settings(**overrides: Any) -> HelixSettings:
    """Settings from the environment, then `.helix/infra.env`, then defaults."""
    env_file = infra_env_file()
    return HelixSettings(_env_file=env_file if env_file.is_file() else None, **overrides)


@lru_cache(maxsize=1)
def get_settings() -> HelixSettings:
    """The process-wide settings (cached; tests build their own with `load_settings`)."""
    return load_settings()
