"""Asset keys: `productions/{production}/{kind}/{asset}/v{n}.{ext}`, validated before use.

Every key that reaches the store goes through `AssetKey.parse` (and `AssetKey.build`
parses what it builds), so a key made from user input cannot climb out of its
production (`..`), name another bucket, or smuggle control bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from helix.events.data import ID_CHARS, UPLOAD_KEY_PATTERN, UPLOAD_MEDIA_TYPES, AssetKind

_ID = ID_CHARS
_LAYOUT = re.compile(
    rf"^productions/(?P<production>{_ID})/(?P<kind>{'|'.join(k.value for k in AssetKind)})/(?P<asset>{_ID})/"
    rf"v(?P<version>[1-9][0-9]{{0,5}})\.(?P<ext>meta\.json|preview\.png|manifest\.c2pa|[a-z0-9]{{1,10}})$"
)
SIDECAR_EXT = "meta.json"
PREVIEW_EXT = "preview.png"
MANIFEST_EXT = "manifest.c2pa"
COMPANION_EXTS = (SIDECAR_EXT, PREVIEW_EXT, MANIFEST_EXT)  # stored beside a version, never versions themselves
# What Helix's generators store, by media type (what the gateway serves an asset's bytes as).
MEDIA_TYPES = ("application/json", "text/x-fountain", "image/png", "image/jpeg", "image/webp", "application/x-subrip", "text/vtt", "application/ttml+xml",
               "audio/wav", "audio/flac", "video/mp4", "application/octet-stream")


class InvalidAssetKey(ValueError):
    """A key that is not a Helix asset key; the message says why."""

    def __init__(self, key: object, why: str) -> None:
        super().__init__(f"invalid asset key {str(key)[:200]!r}: {why}")
        self.why = why


@dataclass(frozen=True)
class AssetKey:
    production_id: str
    kind: AssetKind
    asset_id: str
    version: int
    ext: str

    def __str__(self) -> str:
        return f"{self.prefix}v{self.version}.{self.ext}"

    @property
    def prefix(self) -> str:
        """The folder holding every version of this asset."""
        return f"productions/{self.production_id}/{self.kind.value}/{self.asset_id}/"

    def sidecar(self) -> AssetKey:
        """The JSON sidecar (lineage, generation parameters) of this version."""
        return AssetKey(self.production_id, self.kind, self.asset_id, self.version, SIDECAR_EXT)

    def preview(self) -> AssetKey:
        """The small preview image of this version (images only), for the review console."""
        return AssetKey(self.production_id, self.kind, self.asset_id, self.version, PREVIEW_EXT)

    def manifest(self) -> AssetKey:
        """A sidecar C2PA manifest, for formats the manifest cannot be embedded in."""
        return AssetKey(self.production_id, self.kind, self.asset_id, self.version, MANIFEST_EXT)

    @classmethod
    def build(cls, production_id: str, kind: AssetKind | str, asset_id: str, version: int, ext: str) -> AssetKey:
        kind_value = kind.value if isinstance(kind, AssetKind) else kind
        return cls.parse(f"productions/{production_id}/{kind_value}/{asset_id}/v{version}.{ext}")

    @classmethod
    def parse(cls, key: object) -> AssetKey:
        if not isinstance(key, str):
            raise InvalidAssetKey(key, "a key is a string")
        if len(key) > 1024:
            raise InvalidAssetKey(key, "longer than 1024 characters")
        if any(ord(c) < 0x20 or c in "\\%" for c in key):
            raise InvalidAssetKey(key, "control characters, backslashes and percent-escapes are not allowed")
        if key.startswith("/") or "://" in key:
            raise InvalidAssetKey(key, "keys are relative to the Helix bucket: no leading '/', no other bucket")
        if any(s in ("", ".", "..") for s in key.split("/")):
            raise InvalidAssetKey(key, "empty, '.' and '..' path segments are not allowed")
        match = _LAYOUT.fullmatch(key)
        if not match:
            raise InvalidAssetKey(key, "expected productions/{production}/{kind}/{asset}/v{n}.{ext}")
        return cls(match["production"], AssetKind(match["kind"]), match["asset"], int(match["version"]), match["ext"])


_UPLOAD = re.compile(UPLOAD_KEY_PATTERN)


@dataclass(frozen=True)
class UploadKey:
    """Where a person's upload waits, `uploads/{production}/{upload}.{ext}`, until the service
    that owns it keeps it as an asset. Outside `productions/`: never read as an asset version."""

    production_id: str
    upload_id: str
    ext: str

    def __str__(self) -> str:
        return f"uploads/{self.production_id}/{self.upload_id}.{self.ext}"

    @classmethod
    def for_media(cls, production_id: str, upload_id: str, media_type: str) -> UploadKey:
        if media_type not in UPLOAD_MEDIA_TYPES:
            raise InvalidAssetKey(upload_id, f"an upload is one of {', '.join(UPLOAD_MEDIA_TYPES)}, not {media_type!r}")
        return cls.parse(f"uploads/{production_id}/{upload_id}.{UPLOAD_MEDIA_TYPES[media_type]}")

    @classmethod
    def parse(cls, key: object) -> UploadKey:
        match = _UPLOAD.fullmatch(key) if isinstance(key, str) else None
        if match is None or ".." in str(key):
            raise InvalidAssetKey(key, "expected uploads/{production}/{upload}.{png|jpg|webp}")
        return cls(match["production"], match["upload"], match["ext"])


def data_use_key(production_id: str) -> str:
    """Where a production's data-use choice is kept (`helix.provenance.DataUse`): beside, not
    inside, its assets' folders."""
    if not re.fullmatch(ID_CHARS, production_id):
        raise InvalidAssetKey(production_id, "a production id is 1-128 letters, digits, '.', '_' or '-', starting alphanumeric")
    return f"policies/{production_id}/data-use.json"
