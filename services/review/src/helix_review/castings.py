"""Voice casting (`helix.casting`): each production's character -> voice table, kept beside
the consents a performer's voice depends on. Setting it registers every performer it names,
so their names are watched in this production's assets; reading it resolves, for each
performer's voice, the consent for `voice` in force now (none: localize refuses to speak it).
A production's casting may belong to a series; the series' casting speaks the characters the
production does not name, and its performers need a consent covering each production that
speaks them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from helix.casting import Casting, CastingTable, ResolvedCasting, SeriesCasting
from helix.events import Actor
from helix_review.db import CastingRecord, Consent, SeriesCastingRecord, utcnow
from helix_review.records import audit, name_key, register_performer


class Castings:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def set_casting(self, actor: Actor, casting: Casting) -> ResolvedCasting:
        """Replace a production's casting; the audit entry lists the (character, locale) pairs it changed."""
        now = utcnow()
        with self.sessions() as s, s.begin():
            record = s.get(CastingRecord, casting.production_id)
            before = Casting.model_validate(record.document) if record is not None else Casting(production_id=casting.production_id)
            if record is None:
                record = CastingRecord(production_id=casting.production_id, updated_by=actor.subject, updated_at=now)
                s.add(record)
            record.series_id = casting.series_id
            changed = _replace(s, actor, record, before, casting, now)
            audit(s, actor, "casting.set", production_id=casting.production_id, subject=casting.production_id,
                  details={"changed": changed, "performers": casting.performers(), "series_id": casting.series_id})
        return self.casting(casting.production_id, now)

    def set_series(self, actor: Actor, series: SeriesCasting) -> SeriesOfProductions:
        """Replace a series' casting; the audit entry lists what it changed."""
        now = utcnow()
        with self.sessions() as s, s.begin():
            record = s.get(SeriesCastingRecord, series.series_id)
            before = _series(record, series.series_id)
            if record is None:
                record = SeriesCastingRecord(series_id=series.series_id, updated_by=actor.subject, updated_at=now)
                s.add(record)
            changed = _replace(s, actor, record, before, series, now)
            audit(s, actor, "series_casting.set", subject=series.series_id, details={"changed": changed, "performers": series.performers()})
        return self.series(series.series_id)

    def series(self, series_id: str) -> SeriesOfProductions:
        """A series' casting (empty when none was set) and the productions whose casting belongs to it."""
        with self.sessions() as s:
            productions = s.scalars(select(CastingRecord.production_id).where(CastingRecord.series_id == series_id)
                                    .order_by(CastingRecord.production_id))
            return SeriesOfProductions(_series(s.get(SeriesCastingRecord, series_id), series_id), list(productions))

    def casting(self, production_id: str, now: datetime | None = None) -> ResolvedCasting:
        """The production's casting (empty when none was set), with the consent in force for each
        performer's voice in it."""
        now = now or utcnow()
        with self.sessions() as s:
            record = s.get(CastingRecord, production_id)
            casting = Casting.model_validate(record.document) if record is not None else Casting(production_id=production_id)
            series = _series(s.get(SeriesCastingRecord, casting.series_id), casting.series_id) if casting.series_id else None
            resolved = ResolvedCasting(casting=casting, series=series)
            consents: dict[str, str] = {}
            for performer in resolved.effective.performers():
                candidates = s.scalars(select(Consent).where(Consent.performer_key == name_key(performer))
                                       .order_by(Consent.recorded_at.desc()))
                covering = next((c for c in candidates if c.covers("voice", production_id, now)), None)
                if covering is not None:
                    consents[performer] = covering.id
            return resolved.model_copy(update={"consents": consents})


@dataclass(frozen=True)
class SeriesOfProductions:
    casting: SeriesCasting
    production_ids: list[str]


def _replace(s: Session, actor: Actor, record: CastingRecord | SeriesCastingRecord, before: CastingTable, table: CastingTable,
             now: datetime) -> list[list[str]]:
    """`table` in place of `before` in `record`, its performers registered (their names then
    watched); the (character, locale) entries it changed."""
    for performer in table.performers():
        register_performer(s, performer, ())
    record.document = table.model_copy(update={"updated_by": actor.subject, "updated_at": now}).model_dump(mode="json")
    record.updated_by, record.updated_at = actor.subject, now
    return [list(pair) for pair in before.changed(table)]


def _series(record: SeriesCastingRecord | None, series_id: str) -> SeriesCasting:
    return SeriesCasting.model_validate(record.document) if record is not None else SeriesCasting(series_id=series_id)
