"""Fixtures for cross-service tests: real Kafka, real MinIO and real SeaweedFS.

By default the session starts them with the same launcher as `helix infra up`, in
`.helix/test-infra` on their own ports, and stops them at the end. To use servers you
already run, set HELIX_TEST_INFRA=external and the usual HELIX_KAFKA_BOOTSTRAP,
HELIX_S3_ENDPOINT, HELIX_S3_ACCESS_KEY, HELIX_S3_SECRET_KEY (and optionally
HELIX_SEAWEEDFS_S3_ENDPOINT). Where a Docker engine exists, HELIX_TEST_INFRA=testcontainers
uses testcontainers' Kafka and MinIO modules instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from helix.settings import HelixSettings

REPO = Path(__file__).resolve().parents[1]


def _local_infra() -> Iterator[dict[str, str]]:
    from helix_dev.infra import LocalInfra

    infra = LocalInfra(home=REPO / ".helix" / "test-infra", project=REPO)
    env = infra.up(("kafka", "minio", "seaweedfs", "postgres"))
    try:
        yield env
    finally:
        if not os.environ.get("HELIX_TEST_KEEP_INFRA"):
            infra.down()
            infra.remove_data()  # throwaway: the next session starts clean


def _testcontainers_infra() -> Iterator[dict[str, str]]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.minio import MinioContainer

    with KafkaContainer().with_kraft() as kafka, MinioContainer() as minio:
        cfg = minio.get_config()
        yield {
            "HELIX_KAFKA_BOOTSTRAP": kafka.get_bootstrap_server(),
            "HELIX_S3_ENDPOINT": f"http://{cfg['endpoint']}",
            "HELIX_S3_ACCESS_KEY": cfg["access_key"],
            "HELIX_S3_SECRET_KEY": cfg["secret_key"],
        }


@pytest.fixture(scope="session")
def infra_env() -> Iterator[dict[str, str]]:
    mode = os.environ.get("HELIX_TEST_INFRA", "local")
    if mode == "external":
        yield {k: v for k, v in os.environ.items() if k.startswith("HELIX_")}
    elif mode == "testcontainers":
        yield from _testcontainers_infra()
    else:
        yield from _local_infra()


def make_settings(infra_env: dict[str, str], tmp_path: Path, **overrides: object) -> HelixSettings:
    """Settings on the test infrastructure, with a topic namespace of their own so that
    tests never see each other's messages, fast retries and a private database."""
    values: dict[str, object] = {
        "kafka_bootstrap": infra_env["HELIX_KAFKA_BOOTSTRAP"],
        "s3_endpoint": infra_env["HELIX_S3_ENDPOINT"],
        "s3_access_key": infra_env["HELIX_S3_ACCESS_KEY"],
        "s3_secret_key": infra_env["HELIX_S3_SECRET_KEY"],
        "s3_bucket": f"t-{uuid.uuid4().hex[:12]}",
        "topic_namespace": f"t{uuid.uuid4().hex[:10]}",
        "topic_partitions": 3,
        "consumer_session_timeout_ms": 6000,
        "retry_attempts": 3,
        "retry_backoff_initial_s": 0.05,
        "retry_backoff_max_s": 0.2,
        "database_url": f"sqlite:///{tmp_path / 'state.db'}",
        "service_name": "helix-test",
    }
    values.update(overrides)
    return HelixSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def postgres_url(infra_env: dict[str, str]) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if "HELIX_POSTGRES_URL" not in infra_env:
        pytest.skip("no PostgreSQL in this infrastructure (set HELIX_POSTGRES_URL)")
    import psycopg

    base = infra_env["HELIX_POSTGRES_URL"]
    admin_url = base.rsplit("/", 1)[0].replace("+psycopg", "") + "/postgres"
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(infra_env: dict[str, str], tmp_path: Path) -> HelixSettings:
    return make_settings(infra_env, tmp_path)
