"""The voice casting document: one voice per character and locale, matched without regard to
case, a locale's entry before its language's before every locale's; bad documents refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helix.casting import Casting, CastingEntry, ModelVoice, PerformerVoice, ResolvedCasting, SeriesCasting

ANN = PerformerVoice(performer="Ann Lee", model="voices/ann-lee")


def test_the_most_specific_entry_wins() -> None:
    casting = Casting(production_id="p", entries=[
        CastingEntry(character="MARA", voice=ModelVoice(speaker=1)),
        CastingEntry(character="Mara", locale="de", voice=ModelVoice(speaker=2)),
        CastingEntry(character="MARA", locale="de-AT", voice=ANN),
    ])
    assert casting.voice_for("mara", "de-AT") == ANN
    assert casting.voice_for("MARA", "de-DE") == ModelVoice(speaker=2)  # its language's entry
    assert casting.voice_for("MARA", "fr") == ModelVoice(speaker=1)
    assert casting.voice_for("JONAS", "fr") is None
    assert casting.performers() == ["Ann Lee"]


def test_a_character_cast_twice_for_one_locale_is_refused() -> None:
    with pytest.raises(ValidationError, match="MARA is cast twice for locale de"):
        Casting(production_id="p", entries=[CastingEntry(character="Mara", locale="de", voice=ModelVoice()),
                                            CastingEntry(character="MARA", locale="de", voice=ANN)])


@pytest.mark.parametrize("entry", [
    {"character": "MARA", "voice": {"kind": "performer", "performer": "Ann Lee"}},  # a performer's voice needs their model
    {"character": "MARA", "voice": {"kind": "clone", "model": "x"}},
    {"character": " ", "voice": {"kind": "model"}},
    {"character": "MARA", "locale": "German", "voice": {"kind": "model"}},
    {"character": "MARA", "voice": {"kind": "model", "speaker": -1}},
])
def test_bad_entries_are_refused(entry: dict) -> None:
    with pytest.raises(ValidationError):
        Casting.model_validate({"production_id": "p", "entries": [entry]})


def test_changed_lists_the_entries_that_differ() -> None:
    before = Casting(production_id="p", entries=[CastingEntry(character="MARA", voice=ModelVoice(speaker=1)),
                                                 CastingEntry(character="JONAS", voice=ModelVoice(speaker=2))])
    after = Casting(production_id="p", entries=[CastingEntry(character="mara", voice=ModelVoice(speaker=1)),
                                                CastingEntry(character="JONAS", locale="de", voice=ANN)])
    assert before.changed(after) == [("JONAS", "*"), ("JONAS", "de")]


def test_a_consent_is_found_for_any_spelling_of_the_performer() -> None:
    resolved = ResolvedCasting(casting=Casting(production_id="p"), consents={"Ann Lee": "c1"})
    assert resolved.consent_for("ann  lee") == "c1" and resolved.consent_for("Bo") is None


def test_an_episode_names_its_characters_and_its_series_the_rest() -> None:
    series = SeriesCasting(series_id="harbour", entries=[CastingEntry(character="MARA", voice=ModelVoice(speaker=1)),
                                                         CastingEntry(character="TOM", locale="de", voice=ModelVoice(speaker=2))])
    episode = Casting(production_id="ep-1", series_id="harbour", entries=[CastingEntry(character="mara", locale="fr",
                                                                                      voice=ModelVoice(speaker=5))])
    effective = episode.over(series)
    assert effective.voice_for("TOM", "de-AT") == ModelVoice(speaker=2)
    assert effective.voice_for("MARA", "fr-FR") == ModelVoice(speaker=5)
    assert effective.voice_for("MARA", "de-DE") is None, "the episode names MARA: the series' entries for her do not apply"
    assert episode.over(None) is episode
    wire = ResolvedCasting.from_wire(episode.model_dump_json(), series.model_dump_json(), {"Ann": "c1"})
    assert wire.effective == effective and wire.consent_for("ann") == "c1"
    assert ResolvedCasting.from_wire(episode.model_dump_json(), "", {}).series is None
