"""Voice casting (`helix.casting`): each production's character -> voice table, kept beside
the consents a performer's voice depends on. Setting it registers every performer it names,
so their names are watched in this production's assets; reading it resolves, for each
performer's voice, the consent for `voice` in force now (none: localize refuses to speak it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from helix.casting import Casting, ResolvedCasting
from helix.events import Actor
from helix_review.db import CastingRecord, Consent, utcnow
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
            for performer in casting.performers():
                register_performer(s, performer, ())
            stored = casting.model_copy(update={"updated_by": actor.subject, "updated_at": now})
            if record is None:
                record = CastingRecord(production_id=casting.production_id)
                s.add(record)
            record.document = stored.model_dump(mode="json")
            record.updated_by, record.updated_at = actor.subject, now
            audit(s, actor, "casting.set", production_id=casting.production_id, subject=casting.production_id,
                  details={"changed": [list(pair) for pair in before.changed(stored)], "performers": stored.performers()})
        return self.casting(casting.production_id, now)

    def casting(self, production_id: str, now: datetime | None = None) -> ResolvedCasting:
        """The production's casting (empty when none was set), with the consent in force for each
        performer's voice in it."""
        now = now or utcnow()
        with self.sessions() as s:
            record = s.get(CastingRecord, production_id)
            casting = Casting.model_validate(record.document) if record is not None else Casting(production_id=production_id)
            consents: dict[str, str] = {}
            for performer in casting.performers():
                candidates = s.scalars(select(Consent).where(Consent.performer_key == name_key(performer))
                                       .order_by(Consent.recorded_at.desc()))
                covering = next((c for c in candidates if c.covers("voice", production_id, now)), None)
                if covering is not None:
                    consents[performer] = covering.id
            return ResolvedCasting(casting=casting, consents=consents)
