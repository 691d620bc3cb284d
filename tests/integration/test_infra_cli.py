"""`helix infra up|status|down` as a person runs it, in a folder of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from helix_dev.infra.process import port_open
from tests.conftest import REPO

pytestmark = pytest.mark.infra


def helix(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELIX_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "helix.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def test_up_status_down(tmp_path: Path, infra_env: dict[str, str]) -> None:
    home = tmp_path / "helix-home"
    up = helix("infra", "up", home=home)
    assert up.returncode == 0, up.stdout + up.stderr
    state = json.loads((home / "infra" / "state.json").read_text())
    bootstrap = f"127.0.0.1:{state['kafka_port']}"
    assert f"Kafka bootstrap: {bootstrap}" in up.stdout
    assert f"S3 endpoint:     http://127.0.0.1:{state['minio_port']}" in up.stdout
    env_file = (home / "infra.env").read_text()
    assert f"HELIX_KAFKA_BOOTSTRAP={bootstrap}" in env_file
    try:
        # any Kafka client sees the broker
        if shutil.which("kcat"):
            listing = subprocess.run(["kcat", "-L", "-b", bootstrap, "-m", "10"], capture_output=True, text=True, timeout=30)
            assert listing.returncode == 0 and "1 brokers:" in listing.stdout, listing.stdout + listing.stderr
        else:
            from confluent_kafka.admin import AdminClient

            assert AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).brokers
        live = urllib.request.urlopen(f"http://127.0.0.1:{state['minio_port']}/minio/health/live", timeout=5)
        assert live.status == 200

        again = helix("infra", "up", home=home)
        assert again.returncode == 0 and "already running" in again.stderr, "up is idempotent"
        status = json.loads(helix("infra", "status", "--json", home=home).stdout)
        assert status["kafka"]["running"] and status["kafka"]["answering"]
        assert status["minio"]["running"] and status["minio"]["answering"]
        pids = [status["kafka"]["pid"], status["minio"]["pid"]]
    finally:
        down = helix("infra", "down", home=home)
    assert down.returncode == 0 and "kafka" in down.stdout and "minio" in down.stdout
    for port in (state["kafka_port"], state["kafka_controller_port"], state["minio_port"], state["minio_console_port"]):
        assert not port_open(port), f"port {port} still answers after down"
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(") ")[1][:1]
