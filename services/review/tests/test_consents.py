"""The consent registry and policies on the desk: a recorded consent closes the findings it
covers, a revoked or expired one reopens them (on revoke, on the sweep, before an approval),
admins resolve findings with a reason, and every change is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helix_review.checks import Severity
from helix_review.db import AuditEntry, Consent, Performer, Policy, utcnow
from helix_review.desk import ReviewDesk
from helix_review.errors import FailedPrecondition, InvalidArgument, NotFound
from helix_review.likeness import Likeness

from .conftest import ADMIN, add_finding, add_item, finding, item


def actions(desk: ReviewDesk) -> list[str]:
    with desk.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def expire(desk: ReviewDesk, consent_id: str) -> None:
    with desk.sessions() as s, s.begin():
        found = s.get(Consent, consent_id)
        assert found is not None
        found.expires_at = utcnow() - timedelta(seconds=1)


def named(
    desk: ReviewDesk, kind: str = "frame", production: str = "prod-a", subject: str = "Ann Lee", status: str = "pending"
) -> tuple[str, str]:
    """An item with an open, blocking consent finding naming `subject`: (item id, finding id)."""
    item_id = add_item(desk, kind, production=production, status=status, priority=-25.0)
    return item_id, add_finding(
        desk, item_id, subject=subject, message=f"{subject} appears in this {kind} under consent x for 'likeness'"
    )


def test_resolving_a_finding_needs_a_reason_and_an_open_finding(desk: ReviewDesk) -> None:
    item_id, finding_id = named(desk)
    with pytest.raises(InvalidArgument):
        desk.consents.resolve_finding(finding_id, ADMIN, "   ")
    with pytest.raises(NotFound):
        desk.consents.resolve_finding("nope", ADMIN, "fine")
    resolved = desk.consents.resolve_finding(finding_id, ADMIN, "  cleared by legal ")
    assert (resolved.open, resolved.resolved_by, resolved.resolution_reason) == (False, "root", "cleared by legal")
    assert item(desk, item_id).risk_score == 0.0  # its only finding is closed: it drops to the back of the queue
    with pytest.raises(FailedPrecondition, match="already resolved"):
        desk.consents.resolve_finding(finding_id, ADMIN, "again")
    assert actions(desk) == ["finding.resolved"]


@pytest.mark.parametrize(
    ("performer", "scopes", "match"),
    [("  ", ["name"], "names its performer"), ("Ann Lee", [], r"got \(none\)"), ("Ann Lee", ["name", "smell"], "got smell")],
)
def test_a_consent_names_its_performer_and_known_scopes(desk: ReviewDesk, performer: str, scopes: list[str], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        desk.consents.record_consent(ADMIN, performer, scopes, [], None, "signed")


def test_a_consent_that_has_already_expired_is_refused(desk: ReviewDesk) -> None:
    with pytest.raises(InvalidArgument, match="already expired"):
        desk.consents.record_consent(ADMIN, "Ann Lee", ["name"], [], utcnow() - timedelta(minutes=1), "signed")


def test_a_recorded_consent_closes_the_pending_findings_it_covers(desk: ReviewDesk) -> None:
    covered_item, covered = named(desk, subject="ANN LEE")  # matched whatever the case
    _, other_production = named(desk, production="prod-b")
    _, needs_voice = named(desk, kind="voiceover")
    _, decided = named(desk, status="rejected")
    _, someone_else = named(desk, subject="Bo Stone")
    given = desk.consents.record_consent(
        ADMIN, " Ann  Lee ", ["likeness", "name", "likeness"], ["prod-a"], None, "signed", aliases=["Annie"]
    )
    assert given.performer == "Ann Lee" and given.scopes == ["likeness", "name"] and given.production_ids == ["prod-a"]
    closed = finding(desk, covered)
    assert (closed.open, closed.consent_id, closed.resolution_reason) == (False, given.id, f"consent {given.id} recorded")
    assert item(desk, covered_item).risk_score == 0.0
    assert all(finding(desk, f).open for f in (other_production, needs_voice, decided, someone_else))
    assert actions(desk) == ["consent.recorded", "finding.resolved"]
    with desk.sessions() as s:
        assert s.get(Performer, "ann lee").aliases == ["Annie"]  # type: ignore[union-attr]


def test_revoking_a_consent_reopens_what_relied_on_it(desk: ReviewDesk) -> None:
    item_id, finding_id = named(desk)
    given = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], [], None, "signed")
    assert not finding(desk, finding_id).open
    revoked = desk.consents.revoke_consent(given.id, ADMIN, "withdrawn")
    assert revoked.revoked_by == "root" and revoked.revoke_reason == "withdrawn" and revoked.revoked_at is not None
    reopened = finding(desk, finding_id)
    assert reopened.open and reopened.resolved_by is None and reopened.resolution_reason is None
    assert reopened.message == f"Ann Lee appears in this frame: its consent {given.id} has expired or been revoked"
    assert item(desk, item_id).risk_score == 25.0
    assert actions(desk)[-2:] == ["consent.revoked", "finding.reopened"]
    with pytest.raises(FailedPrecondition, match="already revoked"):
        desk.consents.revoke_consent(given.id, ADMIN, "again")
    with pytest.raises(NotFound):
        desk.consents.revoke_consent("nope", ADMIN, "x")


def test_the_sweep_reopens_findings_of_expired_consents_once(desk: ReviewDesk) -> None:
    _, first = named(desk)
    _, second = named(desk)
    given = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], [], utcnow() + timedelta(days=1), "signed")
    assert desk.consents.recheck_consents() == 0  # still valid
    expire(desk, given.id)
    assert desk.consents.recheck_consents() == 2
    assert finding(desk, first).open and finding(desk, second).open
    assert desk.consents.recheck_consents() == 0


def test_the_sweep_looks_at_the_time_it_is_given(desk: ReviewDesk) -> None:
    _, finding_id = named(desk)
    desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], [], utcnow() + timedelta(hours=1), "signed")
    assert desk.consents.recheck_consents(now=utcnow() + timedelta(hours=2)) == 1
    assert finding(desk, finding_id).open


def test_rechecking_an_item_reopens_what_relied_on_its_lapsed_consents_only(desk: ReviewDesk) -> None:
    mine, my_finding = named(desk)
    _, same_consent = named(desk)
    _, other_consent = named(desk, subject="Bo Stone")
    ann = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], [], None, "signed")
    bo = desk.consents.record_consent(ADMIN, "Bo Stone", ["likeness"], [], None, "signed")
    for lapsed in (ann, bo):
        expire(desk, lapsed.id)
    desk.consents.recheck_item(mine, utcnow())
    assert finding(desk, my_finding).open and finding(desk, same_consent).open  # Ann's consent lapsed for every asset
    assert not finding(desk, other_consent).open  # Bo's waits for the sweep: this item never relied on it


def test_a_policy_is_cleaned_replaced_and_registers_its_performers(desk: ReviewDesk) -> None:
    policy = desk.consents.set_policy(ADMIN, "prod-a", [" Fizzcola ", "", "Fizzcola", "Pier"], ["Ann  Lee", "Ann Lee"])
    assert (policy.banned_terms, policy.performers, policy.updated_by) == (["Fizzcola", "Pier"], ["Ann Lee"], "root")
    desk.consents.set_policy(ADMIN, "prod-a", ["Moon"], [])
    with desk.sessions() as s:
        assert [(p.production_id, p.banned_terms, p.performers) for p in s.scalars(select(Policy))] == [("prod-a", ["Moon"], [])]
        assert s.scalars(select(Performer.name)).all() == ["Ann Lee"]  # registered, and kept
        details = s.scalars(select(AuditEntry.details).where(AuditEntry.action == "policy.set").order_by(AuditEntry.id)).all()
    assert details[0] == {"banned_terms": ["Fizzcola", "Pier"], "performers": ["Ann Lee"]}


def test_a_blank_performer_name_is_neither_kept_nor_registered(desk: ReviewDesk) -> None:
    policy = desk.consents.set_policy(ADMIN, "prod-a", [], [" ", "", "Ann Lee"])
    assert policy.performers == ["Ann Lee"]
    with desk.sessions() as s:
        assert s.scalars(select(Performer.name)).all() == ["Ann Lee"], "a blank name would match every text"


def test_severity_of_a_reopened_finding_counts_again(desk: ReviewDesk) -> None:
    item_id = add_item(desk, priority=-5.0)
    add_finding(desk, item_id, check="policy_terms", severity=Severity.MEDIUM, blocks_approval=False)
    finding_id = add_finding(desk, item_id, subject="Ann Lee")
    given = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], [], None, "signed")
    assert item(desk, item_id).risk_score == 5.0 and not finding(desk, finding_id).open
    desk.consents.revoke_consent(given.id, ADMIN, "withdrawn")
    assert item(desk, item_id).risk_score == 30.0


# --- a consent's reference media ----------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"rest of an image"


class CountingEncoder:
    def __init__(self) -> None:
        self.model = "enc-1"
        self.seen: list[bytes] = []

    def embed(self, data: bytes) -> list[float]:
        self.seen.append(data)
        return [1.0, 0.0]


def test_a_reference_is_kept_with_its_consent_embedded_and_audited(desk: ReviewDesk) -> None:
    encoder = CountingEncoder()
    desk.consents.likeness = Likeness(image=encoder)
    c = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], ["prod-a"], None, "signed")
    ref = desk.consents.add_reference(c.id, ADMIN, "image/png; charset=binary", PNG)
    assert (ref.media_type, ref.size_bytes, ref.embedding, ref.embedding_model) == ("image/png", len(PNG), [1.0, 0.0], "enc-1")
    assert encoder.seen == [PNG] and "consent.reference_added" in actions(desk)
    [listed] = desk.queries.list_consents(page_size=10, cursor="", performer="Ann Lee").rows
    assert [r.id for r in listed.references] == [ref.id]
    wav = desk.consents.add_reference(c.id, ADMIN, "audio/wav", b"RIFF\x00\x00\x00\x00WAVEfmt ")
    assert wav.embedding is None and len(encoder.seen) == 1, "recordings are kept, not embedded by an image encoder"
    voices = CountingEncoder()
    voices.model = "voices-1"
    desk.consents.likeness = Likeness(image=encoder, voice=voices)
    assert desk.consents.embed_references() == 1 and voices.seen[0].startswith(b"RIFF"), "embedded once a voice encoder is configured"


@pytest.mark.parametrize(("media_type", "data", "message"), [
    ("image/gif", b"GIF89a", "a consent reference is one of"),
    ("image/png", b"\xff\xd8\xff a jpeg", "the bytes are not image/png"),
    ("audio/wav", b"RIFF\x00\x00\x00\x00AVI ", "the bytes are not audio/wav"),
    ("image/png", b"", "holds 1 to"),
])
def test_a_reference_that_is_not_what_it_claims_is_refused(desk: ReviewDesk, media_type: str, data: bytes, message: str) -> None:
    c = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], [], None, "signed")
    with pytest.raises(InvalidArgument, match=message):
        desk.consents.add_reference(c.id, ADMIN, media_type, data)


def test_no_reference_for_a_revoked_or_unknown_consent(desk: ReviewDesk) -> None:
    c = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], [], None, "signed")
    desk.consents.revoke_consent(c.id, ADMIN, "withdrawn")
    with pytest.raises(FailedPrecondition):
        desk.consents.add_reference(c.id, ADMIN, "image/png", PNG)
    with pytest.raises(NotFound):
        desk.consents.add_reference("nope", ADMIN, "image/png", PNG)


def test_reference_media_are_served_only_to_those_who_see_the_consent(desk: ReviewDesk) -> None:
    a = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], ["prod-a"], None, "signed")
    everywhere = desk.consents.record_consent(ADMIN, "Bo Park", ["likeness"], [], None, "signed")
    ref_a = desk.consents.add_reference(a.id, ADMIN, "image/png", PNG)
    ref_all = desk.consents.add_reference(everywhere.id, ADMIN, "image/png", PNG)
    assert desk.consents.reference(ref_a.id, ["prod-a"]).data == PNG
    assert desk.consents.reference(ref_a.id, None).data == PNG  # an admin
    with pytest.raises(NotFound, match=ref_a.id):
        desk.consents.reference(ref_a.id, ["prod-b"])
    with pytest.raises(NotFound):
        desk.consents.reference(ref_a.id, [])  # assigned to nothing
    assert desk.consents.reference(ref_all.id, ["prod-b"]).data == PNG, "a consent for every production is every production's"


def test_references_added_before_an_encoder_are_embedded_once_one_is_configured(desk: ReviewDesk) -> None:
    c = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], [], None, "signed")
    desk.consents.add_reference(c.id, ADMIN, "image/png", PNG)
    assert desk.consents.embed_references() == 0, "no encoder: nothing to do"
    desk.consents.likeness = Likeness(image=CountingEncoder())
    assert desk.consents.embed_references() == 1 and desk.consents.embed_references() == 0


def test_recording_a_likeness_consent_closes_the_resemblance_findings_it_covers(desk: ReviewDesk) -> None:
    item_id = add_item(desk, "frame", production="prod-a")
    resembles = add_finding(desk, item_id, check="likeness_resemblance", subject="Ann Lee", message="resembles Ann Lee's reference")
    c = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], ["prod-a"], None, "signed")
    closed = finding(desk, resembles)
    assert not closed.open and closed.consent_id == c.id
    desk.consents.revoke_consent(c.id, ADMIN, "withdrawn")
    assert finding(desk, resembles).open, "and reopened when the consent is revoked"
