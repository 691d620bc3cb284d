"""Likeness beyond names: an image resembling a performer's reference image (at or above the
threshold) needs their consent for 'likeness' in this production, a voice-over resembling their
recording one for 'voice'; under one the finding is kept closed with it; other kinds, unlike
media, references of another encoder and unreadable bytes are left alone."""

from __future__ import annotations

import pytest

from helix.events import AssetKind
from helix_review.checks import Severity
from helix_review.checks.base import ReferenceEmbedding
from helix_review.checks.resemblance import LikenessResemblanceCheck
from helix_review.likeness import Likeness

from ..conftest import NOW, consent, performer, screening

ANN = performer("Ann Lee")
ANN_REF = ReferenceEmbedding(model="faces", performer="Ann Lee", performer_key=ANN.name_key, consent_id="c-ann", embedding=[1.0, 0.0])
BO_REF = ReferenceEmbedding(model="faces", performer="Bo Park", performer_key="bo park", consent_id="c-bo", embedding=[0.0, 1.0])
ANN_VOICE = ReferenceEmbedding(model="voices", performer="Ann Lee", performer_key=ANN.name_key, consent_id="c-ann", embedding=[0.6, 0.8])


class Encoder:
    """Reads the 'embedding' the bytes name: b'0.6,0.8'."""

    def __init__(self, model: str) -> None:
        self.model = model

    def embed(self, data: bytes) -> list[float]:
        return [float(x) for x in data.decode().split(",")]


def run(content: bytes, *, kind: AssetKind = AssetKind.FRAME, media_type: str = "image/png", consents: list | None = None,
        threshold: float = 0.9) -> list:
    ctx = screening(content=content, kind=kind, media_type=media_type, production_id="prod-a", references=[ANN_REF, BO_REF, ANN_VOICE],
                    consents=consents or [])
    likeness = Likeness(image=Encoder("faces"), image_threshold=threshold, voice=Encoder("voices"), voice_threshold=0.95)
    return LikenessResemblanceCheck(likeness).run(ctx)


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


def test_a_voice_over_resembling_a_performers_recording_needs_a_voice_consent() -> None:
    [draft] = run(b"0.6,0.8", kind=AssetKind.VOICEOVER, media_type="audio/wav")
    assert draft.subject == "Ann Lee" and "resembles Ann Lee's voice" in draft.message and "for 'voice'" in draft.message
    assert run(b"0.6,0.8", kind=AssetKind.VOICEOVER, media_type="audio/wav",
               consents=[consent(ANN, "voice", productions=("prod-a",))])[0].covered_by is not None
    assert run(b"1.0,0.0", kind=AssetKind.VOICEOVER, media_type="audio/wav") == [], "below the voice threshold"
    assert run(b"0.6,0.8", kind=AssetKind.VOICEOVER, media_type="application/json") == [], "a timing report has no voice"


def test_only_references_of_the_same_encoder_are_compared() -> None:
    assert [d.subject for d in run(b"0.6,0.8", threshold=0.79)] == ["Bo Park"], "Ann's voice is not compared with images"
