"""The asset store and its key rules."""

from helix.assets.keys import AssetKey, InvalidAssetKey, UploadKey
from helix.assets.protocol import Store
from helix.assets.store import AssetIntegrityError, AssetNotFound, AssetStore, StoredAsset

__all__ = ["AssetIntegrityError", "AssetKey", "AssetNotFound", "AssetStore", "InvalidAssetKey", "Store", "StoredAsset", "UploadKey"]
