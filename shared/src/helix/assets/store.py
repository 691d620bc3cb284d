"""The asset store: generated assets in S3 (MinIO by default) through the `minio` client.

- content addressed: the sha256 of every object is in its metadata and is checked on read;
- idempotent: putting the same bytes for an asset again returns the stored version
  instead of writing a new one, so a redelivered request never duplicates an asset;
- every version has a JSON sidecar with its lineage and generation parameters;
- clients download through short-lived presigned URLs.
Plain S3 calls only, so any S3 server works (the tests also run against SeaweedFS).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from helix.assets.keys import COMPANION_EXTS, AssetKey, InvalidAssetKey, UploadKey, data_use_key
from helix.events.data import AssetKind
from helix.provenance import DataUse
from helix.settings import HelixSettings

SHA256_META = "sha256"  # stored as x-amz-meta-sha256
JOB_META = "helix-job"  # the job that stored a version, as x-amz-meta-helix-job: a job's re-run finds its own version


class AssetNotFound(LookupError):
    pass


class AssetIntegrityError(RuntimeError):
    """The bytes read back do not hash to the sha256 recorded at write time."""

    def __init__(self, message: str, stored: StoredAsset | None = None) -> None:
        super().__init__(message)
        self.stored = stored


@dataclass(frozen=True)
class StoredAsset:
    key: AssetKey
    sha256: str
    size_bytes: int
    media_type: str
    reused: bool = field(default=False, compare=False)  # put() found these bytes already stored as this version
    job_id: str | None = field(default=None, compare=False)  # the job that stored this version, where recorded

    @property
    def object_key(self) -> str:
        return str(self.key)

    def event_fields(self) -> dict[str, Any]:
        """The fields of an `AssetGenerated` event that the store knows."""
        return {
            "production_id": self.key.production_id,
            "asset_id": self.key.asset_id,
            "kind": self.key.kind,
            "version": self.key.version,
            "object_key": self.object_key,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "media_type": self.media_type,
        }


def reusable(existing: list[StoredAsset], digest: str, job_id: str | None) -> StoredAsset | None:
    """The version a put of these bytes (by this job) returns instead of writing: what the
    same job stored before (a re-run, whatever its new signature did to the bytes), or the
    newest version when it holds the same bytes (a redelivery). Bytes equal to an older
    version only are a new version: a revert must become the newest. One rule, for every
    store; `existing` is in version order."""
    same_job = [s for s in existing if job_id is not None and s.job_id == job_id]
    found = same_job[-1] if same_job else (existing[-1] if existing and existing[-1].sha256 == digest else None)
    if found is None:
        return None
    return StoredAsset(found.key, found.sha256, found.size_bytes, found.media_type, reused=True, job_id=found.job_id)


def _client(endpoint: str, settings: HelixSettings) -> Minio:
    parts = urlsplit(endpoint if "://" in endpoint else f"{'https' if settings.s3_secure else 'http'}://{endpoint}")
    # minio's own defaults, with a connection pool big enough for concurrent readers.
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=10, read=60),
        maxsize=settings.s3_max_connections,
        retries=urllib3.Retry(total=5, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    return Minio(
        parts.netloc,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=parts.scheme == "https",
        region=settings.s3_region,  # known region: presigning needs no network round trip
        http_client=http,
    )


class AssetStore:
    def __init__(self, settings: HelixSettings) -> None:
        self.settings = settings
        self.bucket = settings.s3_bucket
        self.client = _client(settings.s3_endpoint, settings)
        self._presigner = _client(settings.s3_public_endpoint or settings.s3_endpoint, settings)

    def ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket, location=self.settings.s3_region)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    # --- writing -----------------------------------------------------------------------

    def put(
        self,
        *,
        production_id: str,
        kind: AssetKind | str,
        asset_id: str,
        data: bytes,
        media_type: str,
        ext: str,
        provenance: dict[str, Any] | None = None,
        preview: bytes | None = None,
        manifest: bytes | None = None,
        job_id: str | None = None,
    ) -> StoredAsset:
        """Store `data` as the next version of an asset, with its sidecar (and a preview image).

        If some version of this asset already holds exactly these bytes, or was stored by the
        same `job_id` (a job run again after a crash or by another replica: a new signature
        changes the bytes, not the work), that version is returned (`reused`) and nothing is
        written.
        """
        digest = hashlib.sha256(data).hexdigest()
        existing = self.versions(production_id, kind, asset_id)
        if (found := reusable(existing, digest, job_id)) is not None:
            return found
        version = (existing[-1].key.version + 1) if existing else 1
        key = AssetKey.build(production_id, kind, asset_id, version, ext)
        stored = StoredAsset(key, digest, len(data), media_type, job_id=job_id)
        sidecar = {
            **stored.event_fields(),
            "kind": key.kind.value,
            "stored_at": datetime.now(UTC).isoformat(),
            "provenance": provenance or {},
        }
        # Sidecar first: an object without its lineage must never be visible.
        self._put_bytes(key.sidecar(), json.dumps(sidecar, sort_keys=True, default=str).encode(), "application/json")
        if preview is not None:
            self._put_bytes(key.preview(), preview, "image/png")
        if manifest is not None:
            self._put_bytes(key.manifest(), manifest, "application/c2pa")
        self._put_bytes(key, data, media_type, digest, job_id=job_id)
        return stored

    def _put_bytes(self, key: AssetKey, data: bytes, media_type: str, digest: str | None = None, *, job_id: str | None = None) -> None:
        digest = digest or hashlib.sha256(data).hexdigest()
        metadata: dict[str, str | list[str] | tuple[str]] = {SHA256_META: digest, **({JOB_META: job_id} if job_id else {})}
        self.client.put_object(self.bucket, str(key), io.BytesIO(data), len(data), content_type=media_type, metadata=metadata)

    def stage(self, key: UploadKey, data: bytes, media_type: str) -> str:
        """Hold a person's upload at `key` until a service keeps it; returns its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        self.client.put_object(self.bucket, str(key), io.BytesIO(data), len(data), content_type=media_type,
                               metadata={SHA256_META: digest})
        return digest

    def staged(self, key: UploadKey, sha256: str) -> bytes:
        """A staged upload's bytes, checked against the sha256 its request carries."""
        try:
            response = self.client.get_object(self.bucket, str(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                raise AssetNotFound(str(key)) from None
            raise
        try:
            data = response.read()
        finally:
            response.close()
            response.release_conn()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise AssetIntegrityError(f"{key}: the staged upload does not match the sha256 its request carries")
        return data

    def put_data_use(self, data_use: DataUse) -> None:
        """Keep a production's data-use choice where every generator reads it (`data_use`)."""
        body = data_use.model_dump_json().encode()
        self.client.put_object(self.bucket, data_use_key(data_use.production_id), io.BytesIO(body), len(body),
                               content_type="application/json")

    def data_use(self, production_id: str) -> DataUse | None:
        """A production's data-use choice; None for one created before productions chose it."""
        try:
            response = self.client.get_object(self.bucket, data_use_key(production_id))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise
        try:
            return DataUse.model_validate_json(response.read())
        finally:
            response.close()
            response.release_conn()

    # --- reading -----------------------------------------------------------------------

    def _call(self, key: AssetKey, operation: Any) -> Any:
        """One S3 call on `key`, with a missing object turned into AssetNotFound."""
        try:
            return operation(self.bucket, str(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                raise AssetNotFound(str(key)) from None
            raise

    def stat(self, key: str | AssetKey) -> StoredAsset:
        key = key if isinstance(key, AssetKey) else AssetKey.parse(key)
        info = self._call(key, self.client.stat_object)
        meta = {k.lower(): v for k, v in (info.metadata or {}).items()}
        return StoredAsset(key, meta.get(f"x-amz-meta-{SHA256_META}", ""), info.size or 0, info.content_type or "",
                           job_id=meta.get(f"x-amz-meta-{JOB_META}") or None)

    def get(self, key: str | AssetKey) -> bytes:
        """The object's bytes, checked against the sha256 recorded when it was written."""
        return self.read(key)[0]

    def read(self, key: str | AssetKey) -> tuple[bytes, StoredAsset]:
        """Bytes and facts of an object in one request; the bytes are checked against the
        recorded sha256 (AssetIntegrityError carries the facts when they differ)."""
        key = key if isinstance(key, AssetKey) else AssetKey.parse(key)
        response = self._call(key, self.client.get_object)
        try:
            data = response.read()
            headers = {k.lower(): v for k, v in response.headers.items()}
        finally:
            response.close()
            response.release_conn()
        stored = StoredAsset(key, headers.get(f"x-amz-meta-{SHA256_META}", ""), len(data), headers.get("content-type", ""))
        if hashlib.sha256(data).hexdigest() != stored.sha256:
            raise AssetIntegrityError(f"{stored.object_key}: content does not match its recorded sha256", stored)
        return data, stored

    def sidecar(self, key: str | AssetKey) -> dict[str, Any]:
        key = key if isinstance(key, AssetKey) else AssetKey.parse(key)
        return json.loads(self.get(key.sidecar()))

    def versions(self, production_id: str, kind: AssetKind | str, asset_id: str) -> list[StoredAsset]:
        """Every stored version of an asset, oldest first."""
        prefix = AssetKey.build(production_id, kind, asset_id, 1, "bin").prefix
        keys = []
        for obj in self.client.list_objects(self.bucket, prefix=prefix):
            try:
                key = AssetKey.parse(obj.object_name)
            except InvalidAssetKey:
                continue  # not written by Helix: ignore rather than trust
            if key.ext not in COMPANION_EXTS:
                keys.append(key)
        return [self.stat(k) for k in sorted(keys, key=lambda k: k.version)]

    def presign(self, key: str | AssetKey, expires: timedelta = timedelta(minutes=5)) -> str:
        """A short-lived download URL. The object must exist; lifetime is capped by settings."""
        stored = self.stat(key)
        seconds = max(1, min(int(expires.total_seconds()), self.settings.presign_max_seconds))
        return self._presigner.presigned_get_object(self.bucket, stored.object_key, expires=timedelta(seconds=seconds))
