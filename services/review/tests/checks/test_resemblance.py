"""Likeness beyond names: an image resembling a performer's reference image (at or above the
threshold) needs their consent for 'likeness' in this production; under one the finding is
kept closed with it; other kinds, unlike images and unreadable ones are left alone."""

from __future__ import annotations

import pytest

from helix.events import AssetKind
from helix_review.checks import Severity
from helix_review.checks.base import ReferenceEmbedding
from helix_review.checks.resemblance import LikenessResemblanceCheck

from ..conftest import NOW, consent, performer, screening

ANN = performer("Ann Lee")
ANN_REF = ReferenceEmbedding(performer="Ann Lee", performer_key=ANN.name_key, consent_id="c-ann", embedding=[1.0, 0.0])
BO_REF = ReferenceEmbedding(performer="Bo Park", performer_key="bo park", consent_id="c-bo", embedding=[0.0, 1.0])


class Encoder:
    """Reads the 'embedding' an image's bytes name: b'0.6,0.8'."""

    model = "fake"

    def embed(self, data: bytes) -> list[float]:
        return [float(x) for x in data.decode().split(",")]


def run(content: bytes, *, kind: AssetKind = AssetKind.FRAME, consents: list | None = None, threshold: float = 0.9) -> list:
    ctx = screening(content=content, kind=kind, production_id="prod-a", references=[ANN_REF, BO_REF], consents=consents or [])
    return LikenessResemblanceCheck(Encoder(), threshold).run(ctx)


def test_an_image_resembling_a_reference_without_consent_is_flagged() -> None:
    [draft] = run(b"0.95,0.31")
    assert draft.subject == "Ann Lee" and draft.severity is Severity.HIGH and draft.blocks_approval and draft.covered_by is None
    assert "resembles Ann Lee's reference image (similarity 0.95, threshold 0.90) without recorded consent for 'likeness' in " \
           "production prod-a" in draft.message


def test_under_a_likeness_consent_it_is_kept_closed_with_the_consent() -> None:
    covering = consent(ANN, "likeness", productions=("prod-a",))
    [draft] = run(b"0.95,0.31", consents=[covering])
    assert draft.covered_by == covering.id and f"under consent {covering.id}" in draft.message


@pytest.mark.parametrize("wrong", [consent(ANN, "voice"), consent(ANN, "likeness", productions=("prod-b",)),
                                   consent(ANN, "likeness", revoked_at=NOW)])
def test_a_consent_for_something_else_does_not_cover_it(wrong) -> None:  # noqa: ANN001
    [draft] = run(b"0.95,0.31", consents=[wrong])
    assert draft.covered_by is None


def test_below_the_threshold_other_kinds_and_unreadable_images_pass() -> None:
    assert run(b"0.7,0.71") == []
    assert run(b"0.7,0.71", threshold=0.7) != [], "the threshold is a setting"
    assert run(b"0.95,0.31", kind=AssetKind.SCRIPT) == []
    assert run(b"not an image") == []


def test_each_performer_resembled_is_a_finding_of_their_own() -> None:
    assert sorted(d.subject for d in run(b"0.72,0.7", threshold=0.69)) == ["Ann Lee", "Bo Park"]
