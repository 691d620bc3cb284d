"""Voice casting on the desk: stored per production, performers registered and watched, the
consent for 'voice' in force resolved at each read (and gone once revoked or for another
production), changes audited with the entries they changed."""

from __future__ import annotations

from sqlalchemy import select

from helix.casting import Casting, CastingEntry, ModelVoice, PerformerVoice, SeriesCasting
from helix_review.db import AuditEntry, Performer
from helix_review.desk import ReviewDesk

from .conftest import ADMIN

ANN = PerformerVoice(performer="Ann Lee", model="voices/ann-lee-vits", speaker=0)


def casting(*entries: CastingEntry, production: str = "prod-a") -> Casting:
    return Casting(production_id=production, entries=list(entries))


def test_a_production_without_a_casting_reads_as_empty(desk: ReviewDesk) -> None:
    resolved = desk.castings.casting("prod-a")
    assert resolved.casting.entries == [] and resolved.consents == {}


def test_a_casting_is_stored_and_read_back_with_who_set_it(desk: ReviewDesk) -> None:
    wanted = casting(CastingEntry(character="MARA", voice=ModelVoice(speaker=3)),
                     CastingEntry(character="JONAS", locale="de", voice=ANN))
    desk.castings.set_casting(ADMIN, wanted)
    read = desk.castings.casting("prod-a").casting
    assert read.entries == wanted.entries
    assert read.updated_by == "root" and read.updated_at is not None
    assert desk.castings.casting("prod-b").casting.entries == []  # another production's is its own


def test_a_performer_cast_is_registered_so_their_name_is_watched(desk: ReviewDesk) -> None:
    desk.castings.set_casting(ADMIN, casting(CastingEntry(character="MARA", voice=ANN)))
    with desk.sessions() as s:
        assert [p.name for p in s.scalars(select(Performer))] == ["Ann Lee"]


def test_the_voice_consent_in_force_is_resolved_at_each_read(desk: ReviewDesk) -> None:
    desk.castings.set_casting(ADMIN, casting(CastingEntry(character="MARA", voice=ANN)))
    assert desk.castings.casting("prod-a").consents == {}
    likeness = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], ["prod-a"], None, "no voice scope")
    other = desk.consents.record_consent(ADMIN, "ann  lee", ["voice"], ["prod-b"], None, "another production")
    assert desk.castings.casting("prod-a").consents == {}, (likeness.id, other.id)
    voice = desk.consents.record_consent(ADMIN, "Ann Lee", ["voice"], ["prod-a"], None, "signed")
    assert desk.castings.casting("prod-a").consents == {"Ann Lee": voice.id}
    desk.consents.revoke_consent(voice.id, ADMIN, "withdrawn")
    assert desk.castings.casting("prod-a").consents == {}


def test_a_change_is_audited_with_the_entries_it_changed(desk: ReviewDesk) -> None:
    desk.castings.set_casting(ADMIN, casting(CastingEntry(character="MARA", voice=ModelVoice(speaker=1)),
                                             CastingEntry(character="JONAS", voice=ModelVoice(speaker=2))))
    desk.castings.set_casting(ADMIN, casting(CastingEntry(character="Mara", voice=ModelVoice(speaker=1)),
                                             CastingEntry(character="JONAS", voice=ANN)))
    with desk.sessions() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "casting.set").order_by(AuditEntry.id)))
    assert [e.details["changed"] for e in entries] == [[["JONAS", "*"], ["MARA", "*"]], [["JONAS", "*"]]]
    assert entries[1].details["performers"] == ["Ann Lee"] and entries[1].production_id == "prod-a"


def test_a_series_speaks_the_characters_its_episodes_do_not_cast(desk: ReviewDesk) -> None:
    series = SeriesCasting(series_id="harbour", entries=[CastingEntry(character="MARA", voice=ANN),
                                                         CastingEntry(character="TOM", voice=ModelVoice(speaker=4))])
    found = desk.castings.set_series(ADMIN, series)
    assert found.casting.entries == series.entries and found.casting.updated_by == "root" and found.production_ids == []
    desk.castings.set_casting(ADMIN, Casting(production_id="ep-1", series_id="harbour",
                                             entries=[CastingEntry(character="Tom", locale="de", voice=ModelVoice(speaker=9))]))
    desk.castings.set_casting(ADMIN, Casting(production_id="ep-2", series_id="harbour"))
    desk.castings.set_casting(ADMIN, casting(CastingEntry(character="MARA", voice=ModelVoice(speaker=1)), production="elsewhere"))
    assert desk.castings.series("harbour").production_ids == ["ep-1", "ep-2"]

    one = desk.castings.casting("ep-1")
    assert one.series is not None and one.series.entries == series.entries
    effective = one.effective
    assert effective.voice_for("MARA", "de-DE") == ANN, "from the series"
    assert effective.voice_for("TOM", "de-DE") == ModelVoice(speaker=9), "the episode casts TOM"
    assert effective.voice_for("TOM", "fr-FR") is None, "TOM's entries are the episode's alone: no French one there"
    assert one.consents == {}, "Ann's voice needs a consent for this production"
    voice = desk.consents.record_consent(ADMIN, "Ann Lee", ["voice"], ["ep-1"], None, "episode one only")
    assert desk.castings.casting("ep-1").consents == {"Ann Lee": voice.id} and desk.castings.casting("ep-2").consents == {}
    with desk.sessions() as s:
        assert [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.subject == "harbour"))] == ["series_casting.set"]
