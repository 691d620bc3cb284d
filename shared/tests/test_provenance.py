"""Content Credentials through c2pa-python: what is signed verifies against the configured
trust anchor and names its model and source type; a changed file, a missing manifest and an
unknown signer are told apart."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from helix.provenance import COMPOSITE, TRAINED, ContentCredentials, dev_chain
from helix.settings import HelixSettings


def credentials(tmp_path: Path, name: str = "chain") -> ContentCredentials:
    paths = dev_chain(tmp_path / name)
    return ContentCredentials(HelixSettings(c2pa_chain=str(paths["chain"]), c2pa_key=str(paths["key"]),
                                            c2pa_trust_anchors=str(paths["root"])))


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (20, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def audio(fmt: str) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, np.sin(np.linspace(0, 400, 16_000)).astype(np.float32) * 0.2, 16_000, format=fmt)
    return out.getvalue()


def sign(creds: ContentCredentials, data: bytes, media_type: str, composite: bool = False) -> bytes:
    signed = creds.sign(data, media_type, title="frame-j1-1", model="tiny-sd", revision="sha256:abc", parameters={"steps": 4},
                        generation={"asset_id": "frame-j1-1", "seed": 7}, composite=composite)
    assert signed.sidecar is None
    return signed.data


@pytest.mark.parametrize("media_type, data", [("image/png", png()), ("audio/wav", audio("WAV")), ("audio/flac", audio("FLAC"))])
def test_signed_media_verifies_against_the_trust_anchor(tmp_path: Path, media_type: str, data: bytes) -> None:
    creds = credentials(tmp_path)
    verdict = creds.verify(sign(creds, data, media_type), media_type)
    assert verdict.state == "trusted", verdict.detail
    assert verdict.model == "tiny-sd" and verdict.source_types == [TRAINED]


def test_revisions_and_dubs_are_composites(tmp_path: Path) -> None:
    creds = credentials(tmp_path)
    verdict = creds.verify(sign(creds, audio("WAV"), "audio/wav", composite=True), "audio/wav")
    assert verdict.state == "trusted" and verdict.source_types == [COMPOSITE]


def test_changed_missing_and_untrusted_are_told_apart(tmp_path: Path) -> None:
    creds = credentials(tmp_path)
    signed = bytearray(sign(creds, png(), "image/png"))
    pixels_at = signed.index(b"IDAT") + 8
    signed[pixels_at] ^= 0xFF  # one byte of the image changed after signing
    assert creds.verify(bytes(signed), "image/png").state == "invalid"
    assert creds.verify(png(), "image/png").state == "missing"
    stranger = credentials(tmp_path, "someone-else")
    assert creds.verify(sign(stranger, png(), "image/png"), "image/png").state == "untrusted"


def test_a_format_it_cannot_embed_gets_a_sidecar_bound_to_the_bytes(tmp_path: Path) -> None:
    creds = credentials(tmp_path)
    data = b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n"
    signed = creds.sign(data, "text/vtt", title="subs", model="tiny-marian", revision="r", parameters={}, generation={}, composite=False)
    assert signed.data == data and signed.sidecar
    assert creds.verify(data, "text/vtt", signed.sidecar).state in ("trusted", "untrusted")
    assert creds.verify(data + b"changed", "text/vtt", signed.sidecar).state == "invalid"


@pytest.mark.parametrize("use", ["notAllowed", "allowed"])
def test_every_manifest_says_whether_training_and_data_mining_are_allowed(tmp_path: Path, use: str) -> None:
    import c2pa

    paths = dev_chain(tmp_path / "chain")
    creds = ContentCredentials(HelixSettings(c2pa_chain=str(paths["chain"]), c2pa_key=str(paths["key"]),
                                             c2pa_trust_anchors=str(paths["root"]), **({"c2pa_training_mining": use} if use != "notAllowed" else {})))
    store = json.loads(c2pa.Reader("image/png", io.BytesIO(sign(creds, png(), "image/png"))).json())  # read by c2pa-rs
    active = store["manifests"][store["active_manifest"]]
    (assertion,) = [a for a in active["assertions"] if a["label"] == "cawg.training-mining"]
    assert assertion["data"]["entries"] == {kind: {"use": use} for kind in
                                            ("cawg.ai_generative_training", "cawg.ai_inference", "cawg.ai_training", "cawg.data_mining")}
    assert creds.verify(sign(creds, png(), "image/png"), "image/png").state == "trusted", "the manifest still verifies"
