"""Servers of a test's own (a Kafka broker, a MinIO), which it may stop and start without
disturbing the other tests: for the fault suites."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from helix_dev.infra import LocalInfra
from tests.conftest import REPO


@contextlib.contextmanager
def private_infra(home: Path, components: tuple[str, ...]) -> Iterator[LocalInfra]:
    """`components` started in `home`, stopped and their data removed afterwards."""
    infra = LocalInfra(home=home, project=REPO)
    infra.up(components)
    try:
        yield infra
    finally:
        infra.down(components)
        infra.remove_data()
