"""Helix services as their own processes, for tests that kill them or take their store away."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

from tests.conftest import REPO


def as_env(settings: BaseSettings) -> dict[str, str]:
    """`settings` as the HELIX_* variables a service process reads."""
    env = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        if hasattr(getattr(settings, name), "get_secret_value"):
            value = getattr(settings, name).get_secret_value()
        env[f"HELIX_{name.upper()}"] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return env


class ServiceProcess:
    """`python -m <module>` with `settings` in its environment; output goes to `log`."""

    def __init__(self, module: str, settings: BaseSettings, log: Path) -> None:
        self.module = module
        self.settings = settings
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        env: dict[str, Any] = {**os.environ, **as_env(self.settings), "HELIX_LOG_JSON": "false"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", self.module], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        """kill -9: no goodbye, no commit, as when a node dies."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
