"""The local launcher's KRaft cluster ids: valid for Kafka's storage tool, whatever the draw."""

from __future__ import annotations

import base64
import uuid
from unittest import mock

from helix_dev.infra import local


def test_a_cluster_id_never_starts_with_a_dash() -> None:
    # A UUID whose base64 starts with '-' (0xf8 in the first byte), drawn first, then an ordinary one.
    dashed, plain = uuid.UUID(bytes=b"\xf8" + b"\x01" * 15), uuid.UUID(bytes=b"\x10" * 16)
    assert base64.urlsafe_b64encode(dashed.bytes).decode().startswith("-")
    with mock.patch.object(local.uuid, "uuid4", side_effect=[dashed, plain]):
        cluster_id = local._kafka_cluster_id()
    assert cluster_id == base64.urlsafe_b64encode(plain.bytes).decode().rstrip("=") and len(cluster_id) == 22
