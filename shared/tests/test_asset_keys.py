from __future__ import annotations

import pytest

from helix.assets import AssetKey, InvalidAssetKey, UploadKey
from helix.events import AssetKind


def test_build_and_parse_agree() -> None:
    key = AssetKey.build("lighthouse", AssetKind.SCENE, "scene-9", 3, "png")
    assert str(key) == "productions/lighthouse/scene/scene-9/v3.png"
    assert AssetKey.parse(str(key)) == key
    assert str(key.sidecar()) == "productions/lighthouse/scene/scene-9/v3.meta.json"


@pytest.mark.parametrize(
    "args",
    [
        ("..", "scene", "a", 1, "png"),
        ("p", "scene", "..", 1, "png"),
        ("p/../q", "scene", "a", 1, "png"),
        ("p", "models", "a", 1, "png"),
        ("p", "scene", "a", 0, "png"),
        ("p", "scene", "a", 1, "PNG/../x"),
        ("p", "scene", "a\x00", 1, "png"),
    ],
)
def test_build_refuses_what_parse_refuses(args: tuple) -> None:
    with pytest.raises(InvalidAssetKey):
        AssetKey.build(*args)


def test_error_names_the_rule() -> None:
    with pytest.raises(InvalidAssetKey, match=r"'\.\.' path segments are not allowed"):
        AssetKey.parse("productions/p/scene/a/../../../v1.png")
    with pytest.raises(InvalidAssetKey, match="a key is a string"):
        AssetKey.parse(None)


def test_upload_keys_stay_in_their_folder_and_name_their_type() -> None:
    key = UploadKey.for_media("lighthouse", "upload-1", "image/webp")
    assert str(key) == "uploads/lighthouse/upload-1.webp" and UploadKey.parse(str(key)) == key
    for bad in ("uploads/lighthouse/../x.png", "uploads/lighthouse/up.gif", "productions/lighthouse/frame/f/v1.png", "uploads/a/b/c.png", 7):
        with pytest.raises(InvalidAssetKey):
            UploadKey.parse(bad)
    with pytest.raises(InvalidAssetKey, match="an upload is one of image/png"):
        UploadKey.for_media("lighthouse", "upload-1", "image/gif")
