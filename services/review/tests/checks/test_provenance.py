"""The provenance check: generated media carries Content Credentials that verify and name the
event's model. Verdicts come from a stand-in verifier for each state, and once from real
c2pa signing with a development chain."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from helix.provenance import ContentCredentials, Verdict, dev_chain
from helix.settings import HelixSettings
from helix_review.checks import Severity
from helix_review.checks.provenance import ProvenanceCheck

from ..conftest import screening

MODEL = {"id": "helix/tiny-sd", "revision": "r1"}
IMAGE = {"kind": "frame", "media_type": "image/png", "model": MODEL}


def manifest(model: str | None) -> dict[str, Any]:
    action: dict[str, Any] = {"action": "c2pa.created"}
    if model:
        action["softwareAgent"] = {"name": model, "version": "r1"}
    return {"assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}]}


class Verifier:
    """Answers every verification with one verdict, and keeps what it was asked."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.calls: list[tuple[bytes, str, bytes | None]] = []

    def verify(self, data: bytes, media_type: str, sidecar: bytes | None = None) -> Verdict:
        self.calls.append((data, media_type, sidecar))
        return self.verdict


def run(verdict: Verdict, **fields: Any) -> tuple[list[Any], Verifier]:
    verifier = Verifier(verdict)
    return ProvenanceCheck(verifier).run(screening(**{**IMAGE, **fields})), verifier  # type: ignore[arg-type]


def test_trusted_credentials_naming_the_events_model_pass_and_the_sidecar_is_passed_on() -> None:
    drafts, verifier = run(Verdict("trusted", "ok", manifest("helix/tiny-sd")), manifest=b"sidecar")
    assert drafts == []
    assert verifier.calls == [(b"bytes", "image/png", b"sidecar")]


@pytest.mark.parametrize(
    "fields",
    [{"media_type": "text/x-fountain", "kind": "script"}, {"authorship": "human", "model": None}, {"content": None}],
    ids=["text", "made by a person", "unreadable"],
)
def test_text_person_made_and_unread_assets_are_not_verified(fields: dict[str, Any]) -> None:
    drafts, verifier = run(Verdict("missing", "none"), **fields)
    assert drafts == [] and verifier.calls == []


def test_missing_credentials_block_approval() -> None:
    [draft] = run(Verdict("missing", "no manifest"))[0]
    assert draft.severity is Severity.HIGH and draft.blocks_approval and "no Content Credentials" in draft.message


def test_credentials_that_do_not_verify_are_critical() -> None:
    [draft] = run(Verdict("invalid", "assertion.dataHash.mismatch"))[0]
    assert draft.severity is Severity.CRITICAL and draft.blocks_approval and "assertion.dataHash.mismatch" in draft.message


def test_an_untrusted_signer_is_reported_without_blocking() -> None:
    [draft] = run(Verdict("untrusted", "unknown signer", manifest("helix/tiny-sd")))[0]
    assert draft.severity is Severity.MEDIUM and not draft.blocks_approval and draft.message == "unknown signer"


def test_a_manifest_naming_another_model_blocks_approval() -> None:
    [draft] = run(Verdict("trusted", "ok", manifest("someone/else")))[0]
    assert draft.severity is Severity.HIGH and draft.blocks_approval
    assert "'someone/else'" in draft.message and "'helix/tiny-sd'" in draft.message


def test_a_manifest_naming_no_model_is_reported() -> None:
    [draft] = run(Verdict("trusted", "ok", manifest(None)))[0]
    assert draft.severity is Severity.MEDIUM and not draft.blocks_approval


def test_an_untrusted_manifest_naming_another_model_reports_both() -> None:
    drafts = run(Verdict("untrusted", "unknown signer", manifest("someone/else")))[0]
    assert [d.severity for d in drafts] == [Severity.MEDIUM, Severity.HIGH]


def test_real_credentials_verify_and_an_unsigned_image_is_missing_them(tmp_path: Path) -> None:
    paths = dev_chain(tmp_path / "c2pa")
    credentials = ContentCredentials(
        HelixSettings(c2pa_chain=str(paths["chain"]), c2pa_key=str(paths["key"]), c2pa_trust_anchors=str(paths["root"]))
    )
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (40, 80, 120)).save(out, format="PNG")
    signed = credentials.sign(
        out.getvalue(),
        "image/png",
        title="frame",
        model="helix/tiny-sd",
        revision="r1",
        parameters={},
        generation={},
        composite=False,
    ).data
    check = ProvenanceCheck(credentials)
    assert check.run(screening(**IMAGE, content=signed)) == []
    [missing] = check.run(screening(**IMAGE, content=out.getvalue()))
    assert "no Content Credentials" in missing.message
