from __future__ import annotations

from pathlib import Path

import pytest

from helix.settings import HelixSettings, load_settings


def test_env_file_from_infra_up_and_env_vars_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    (tmp_path / "infra.env").write_text("HELIX_KAFKA_BOOTSTRAP=127.0.0.1:1111\nHELIX_S3_ENDPOINT=http://127.0.0.1:2222\n")
    monkeypatch.delenv("HELIX_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("HELIX_S3_ENDPOINT", "http://s3.internal:9000")
    settings = load_settings()
    assert settings.kafka_bootstrap == "127.0.0.1:1111"
    assert settings.s3_endpoint == "http://s3.internal:9000"


def test_topic_namespace_and_kafka_security() -> None:
    s = HelixSettings(topic_namespace="studio-a", kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                      kafka_sasl_username="helix", kafka_sasl_password="pw")
    assert s.topic("helix.dlq.v1") == "studio-a.helix.dlq.v1"
    assert HelixSettings().topic("helix.dlq.v1") == "helix.dlq.v1"
    config = s.kafka_client_config()
    assert config["security.protocol"] == "sasl_ssl" and config["sasl.password"] == "pw"
    assert "pw" not in repr(s), "secrets never show in logs"
