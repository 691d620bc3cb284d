"""Voice casting: which voice speaks each character of a production, per locale.

A production's casting is one typed document, kept by the review service beside the consents
it depends on, changed by directors and admins through the gateway, and read by localize
whenever it speaks a line. An entry casts one character in one locale (or `*`, every locale
without an entry of its own) to a voice:

- a **model voice**: a speaker of a voice model (`model` empty: the locale's configured voice);
- a **performer's voice**: a model of a real person's voice (their own checkpoint, by id or
  path), usable only while a consent with the `voice` scope covers this production. Localize
  refuses a dub that would use it without one; the dub names the performer and the consent it
  relied on, so the review service flags it again when that consent is revoked or expires.

A production may belong to a **series** (`Casting.series_id`): the series' casting
(`SeriesCasting`, set once for every episode) speaks every character the production's own
casting does not name; a character the production names takes only the production's entries.
The casting in effect is `ResolvedCasting.effective`.

Characters not cast keep the service's stable choice (a speaker from the name), so a character
keeps one voice in every scene, episode and re-generation either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helix.events.data import Locale, SpokenVoice

__all__ = ["ANY_LOCALE", "Casting", "CastingEntry", "ModelVoice", "PerformerVoice", "ResolvedCasting", "SeriesCasting", "SpokenVoice",
           "Voice", "character_key"]

ANY_LOCALE = "*"
Character = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^\S(.*\S)?$")]
SeriesId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
VoiceModel = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\s]+$",
                                  description="A voice model by id or folder (a VITS checkpoint, or piper:/espeak: voice)")]


def character_key(name: str) -> str:
    """How a character is matched between the script's speakers and the casting: case and
    spacing do not matter ('Mara', 'MARA')."""
    return " ".join(name.split()).upper()


class ModelVoice(BaseModel):
    """A speaker of a voice model that speaks for no real person."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["model"] = "model"
    model: VoiceModel | None = Field(None, description="None: the locale's configured voice (HELIX_LOCALIZE_VOICES)")
    speaker: int | None = Field(None, ge=0, le=10_000, strict=True, description="None: a stable choice from the character's name")


class PerformerVoice(BaseModel):
    """A real person's voice: their own model, spoken only under their consent for `voice`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["performer"] = "performer"
    performer: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
    model: VoiceModel
    speaker: int = Field(0, ge=0, le=10_000, strict=True)


Voice = Annotated[ModelVoice | PerformerVoice, Field(discriminator="kind")]


class CastingEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    character: Character
    locale: Locale | Literal["*"] = ANY_LOCALE
    voice: Voice


class CastingTable(BaseModel):
    """Entries, one per character and locale: what a production's and a series' casting share."""

    model_config = ConfigDict(extra="forbid")
    entries: list[CastingEntry] = Field(default_factory=list, max_length=2_000)
    updated_by: str | None = None
    updated_at: datetime | None = None

    @model_validator(mode="after")
    def _one_voice_per_character_and_locale(self) -> Self:
        seen: set[tuple[str, str]] = set()
        for entry in self.entries:
            key = (character_key(entry.character), entry.locale.lower())
            if key in seen:
                raise ValueError(f"{entry.character} is cast twice for locale {entry.locale}")
            seen.add(key)
        return self

    def voice_for(self, character: str, locale: str) -> Voice | None:
        """The character's voice in `locale`: its entry for the locale, else for its language
        ('de' for 'de-AT'), else for every locale; None when the character is not cast."""
        wanted = character_key(character)
        by_locale = {e.locale.lower(): e.voice for e in self.entries if character_key(e.character) == wanted}
        for key in (locale.lower(), locale.split("-")[0].lower(), ANY_LOCALE):
            if key in by_locale:
                return by_locale[key]
        return None

    def performers(self) -> list[str]:
        return sorted({e.voice.performer for e in self.entries if isinstance(e.voice, PerformerVoice)})

    def characters(self) -> list[str]:
        return sorted({e.character for e in self.entries}, key=character_key)

    def changed(self, other: CastingTable) -> list[tuple[str, str]]:
        """(character, locale) entries that differ between two castings: what a change makes stale."""
        mine = {(character_key(e.character), e.locale.lower()): e.voice for e in self.entries}
        theirs = {(character_key(e.character), e.locale.lower()): e.voice for e in other.entries}
        return sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))


class SeriesCasting(CastingTable):
    """A series' voice casting: the voices of every episode's characters that the episode's own
    casting does not name."""

    series_id: SeriesId


class Casting(CastingTable):
    """A production's voice casting: one entry per character and locale."""

    production_id: Annotated[str, Field(min_length=1, max_length=128)]
    series_id: SeriesId | None = Field(None, description="The series it belongs to: its casting speaks the characters this one does not name")

    def over(self, series: SeriesCasting | None) -> Casting:
        """The casting in effect: this production's entries, and the series' entries for every
        character this production does not name."""
        if series is None:
            return self
        own = {character_key(e.character) for e in self.entries}
        return self.model_copy(update={"entries": [*self.entries, *(e for e in series.entries if character_key(e.character) not in own)]})


class ResolvedCasting(BaseModel):
    """A casting as a job reads it: with the consent now in force for each performer's voice
    in this production (a performer missing here has none)."""

    casting: Casting
    series: SeriesCasting | None = Field(None, description="The casting of the production's series, when it belongs to one")
    consents: dict[str, str] = Field(default_factory=dict, description="Performer -> the id of a consent for 'voice' in force")

    @classmethod
    def from_wire(cls, casting_json: str, series_json: str, consents: Mapping[str, str]) -> ResolvedCasting:
        """As the review service's `Casting` message carries it (each document as its JSON)."""
        return cls(casting=Casting.model_validate_json(casting_json),
                   series=SeriesCasting.model_validate_json(series_json) if series_json else None, consents=dict(consents))

    @property
    def effective(self) -> Casting:
        """The voices the production's characters speak with: its own casting over its series'."""
        return self.casting.over(self.series)

    def consent_for(self, performer: str) -> str | None:
        wanted = " ".join(performer.split()).lower()
        return next((c for p, c in self.consents.items() if " ".join(p.split()).lower() == wanted), None)

