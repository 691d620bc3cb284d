"""`helix.assets.store.reusable`: the one rule every store (S3, in memory) follows for a put of
bytes that may already be stored. The S3 store runs it in tests/integration/test_asset_store.py."""

from __future__ import annotations

import hashlib

from helix.assets.keys import AssetKey
from helix.assets.store import StoredAsset, reusable


def version(n: int, data: bytes, job_id: str | None = None) -> StoredAsset:
    return StoredAsset(AssetKey.build("p", "frame", "frame-1", n, "png"), hashlib.sha256(data).hexdigest(), len(data), "image/png",
                       job_id=job_id)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_newest_version_with_the_same_bytes_is_reused() -> None:
    existing = [version(1, b"a"), version(2, b"b")]
    found = reusable(existing, digest(b"b"), None)
    assert found is not None and found.key.version == 2 and found.reused


def test_bytes_equal_to_an_older_version_only_are_a_new_version() -> None:
    assert reusable([version(1, b"a"), version(2, b"b")], digest(b"a"), None) is None, "a revert becomes the newest version"


def test_a_job_gets_back_what_it_stored_whatever_the_bytes_now() -> None:
    existing = [version(1, b"a", job_id="j1"), version(2, b"b", job_id="j2")]
    found = reusable(existing, digest(b"a, signed again"), "j1")
    assert found is not None and found.key.version == 1 and found.job_id == "j1"


def test_nothing_stored_nothing_reused() -> None:
    assert reusable([], digest(b"a"), "j1") is None
    assert reusable([version(1, b"a", job_id="j1")], digest(b"new"), "j2") is None
