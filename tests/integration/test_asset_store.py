"""The asset store against real S3 servers: MinIO, and SeaweedFS to prove it is plain S3."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from helix.assets import AssetIntegrityError, AssetNotFound, AssetStore, InvalidAssetKey, UploadKey
from helix.events import AssetGenerated, AssetKind
from tests.conftest import make_settings

pytestmark = pytest.mark.infra


@pytest.fixture(params=["minio", "seaweedfs"])
def store(request: pytest.FixtureRequest, infra_env: dict[str, str], tmp_path: Path) -> AssetStore:
    if request.param == "seaweedfs":
        if "HELIX_SEAWEEDFS_S3_ENDPOINT" not in infra_env:
            pytest.skip("no SeaweedFS in this infrastructure (HELIX_TEST_INFRA=external without it)")
        settings = make_settings(infra_env, tmp_path, s3_endpoint=infra_env["HELIX_SEAWEEDFS_S3_ENDPOINT"])
    else:
        settings = make_settings(infra_env, tmp_path)
    s = AssetStore(settings)
    s.ensure_bucket()
    return s


def _put(store: AssetStore, data: bytes, asset_id: str = "frame-1"):
    return store.put(
        production_id="lighthouse", kind=AssetKind.FRAME, asset_id=asset_id, data=data, media_type="image/png", ext="png",
        provenance={"model": {"id": "helix/tiny-sd", "revision": "main"}, "seed": 7, "parents": ["shot-3"]},
    )


def test_put_get_and_sidecar(store: AssetStore) -> None:
    data = b"\x89PNG fake frame bytes"
    stored = _put(store, data)
    assert stored.object_key == "productions/lighthouse/frame/frame-1/v1.png"
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert store.get(stored.object_key) == data
    assert store.stat(stored.object_key).media_type == "image/png"
    sidecar = store.sidecar(stored.object_key)
    assert sidecar["sha256"] == stored.sha256
    assert sidecar["provenance"]["parents"] == ["shot-3"]
    # what the store knows is enough to fill an AssetGenerated event's storage fields
    AssetGenerated(**stored.event_fields(), authorship="human", generated_by={"subject": "t"}, generated_at="2026-01-01T00:00:00Z")


def test_same_bytes_twice_is_one_version_new_bytes_a_new_one(store: AssetStore) -> None:
    first = _put(store, b"v1 bytes")
    again = _put(store, b"v1 bytes")  # a redelivered request
    second = _put(store, b"v2 bytes")
    assert again == first
    assert second.key.version == 2
    assert [v.key.version for v in store.versions("lighthouse", "frame", "frame-1")] == [1, 2]
    reverted = _put(store, b"v1 bytes")  # the first bytes again, after others: a revert is the newest version
    assert reverted.key.version == 3 and not reverted.reused


def test_presigned_url_downloads_the_object(store: AssetStore) -> None:
    stored = _put(store, b"presign me")
    url = store.presign(stored.object_key, expires=timedelta(minutes=2))
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"presign me"
    assert "X-Amz-Expires=120" in url
    tampered = url.replace("X-Amz-Expires=120", "X-Amz-Expires=3600")
    assert httpx.get(tampered).status_code == 403, "the signature covers the lifetime"


def test_presign_lifetime_is_capped(store: AssetStore) -> None:
    stored = _put(store, b"short lived")
    url = store.presign(stored.object_key, expires=timedelta(days=7))
    assert f"X-Amz-Expires={store.settings.presign_max_seconds}" in url


@pytest.mark.parametrize(
    "key, why",
    [
        ("productions/lighthouse/frame/../../../etc/v1.png", "'..'"),
        ("productions/lighthouse/frame/frame-1/../../other/frame/x/v1.png", "'..'"),
        ("/productions/lighthouse/frame/frame-1/v1.png", "no leading '/'"),
        ("s3://another-bucket/productions/lighthouse/frame/frame-1/v1.png", "other bucket"),
        ("productions/lighthouse/frame/frame-1/v1.png%2f..", "percent"),
        ("productions/lighthouse/weights/frame-1/v1.png", "expected productions/"),
        ("etc/passwd", "expected productions/"),
    ],
)
def test_traversal_and_foreign_keys_are_refused_with_a_clear_error(store: AssetStore, key: str, why: str) -> None:
    with pytest.raises(InvalidAssetKey) as err:
        store.get(key)
    assert why in str(err.value)
    with pytest.raises(InvalidAssetKey):
        store.presign(key)


def test_tampered_object_fails_the_integrity_check(store: AssetStore) -> None:
    stored = _put(store, b"original")
    evil = b"tampered"
    # rewrite the object behind Helix's back, keeping the old sha256 metadata
    store.client.put_object(store.bucket, stored.object_key, io.BytesIO(evil), len(evil), metadata={"sha256": stored.sha256})
    with pytest.raises(AssetIntegrityError):
        store.get(stored.object_key)


def test_missing_object(store: AssetStore) -> None:
    with pytest.raises(AssetNotFound):
        store.get("productions/lighthouse/frame/never-made/v1.png")


def test_an_upload_is_staged_apart_from_asset_versions_and_read_back_checked(store: AssetStore) -> None:
    key = UploadKey.for_media("lighthouse", "upload-1", "image/png")
    data = b"\x89PNG\r\n\x1a\n a person's drawing"
    digest = store.stage(key, data, "image/png")
    assert digest == hashlib.sha256(data).hexdigest() and store.staged(key, digest) == data
    assert store.versions("lighthouse", AssetKind.REFERENCE, "upload-1") == [], "a staged upload is no asset version"
    with pytest.raises(AssetIntegrityError):
        store.staged(key, hashlib.sha256(b"what the request said").hexdigest())
    with pytest.raises(AssetNotFound):
        store.staged(UploadKey.for_media("lighthouse", "never-sent", "image/png"), digest)


def test_a_productions_data_use_choice_is_kept_beside_its_assets(store: AssetStore) -> None:
    from helix.provenance import DataUse

    assert store.data_use("never-chosen") is None
    store.put_data_use(DataUse(production_id="lighthouse", training_mining="allowed"))
    found = store.data_use("lighthouse")
    assert found is not None and found.training_mining == "allowed"
    assert store.versions("lighthouse", AssetKind.FRAME, "data-use") == [], "no asset version"
    with pytest.raises(InvalidAssetKey):
        store.data_use("../elsewhere")
