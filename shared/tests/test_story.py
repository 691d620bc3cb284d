"""The shapes a model's drafts must have (`helix.story`): a name is one or two capitalised words,
prose starts like a sentence, a beat and a line of dialogue end like one, and a line is one
sentence. Checked by pydantic here; the writer's tests check that the grammar holds a model to
the same patterns."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helix.story import CharacterDraft, DialogueLineDraft, SceneDraft


@pytest.mark.parametrize("name", ["Silas", "Silas Vane", "Ana Ruiz", "Élodie", "高橋"])
def test_a_written_name_is_one_or_two_capitalised_words(name: str) -> None:
    assert CharacterDraft(name=name, description="An old keeper of the light.", voice_notes="").name == name


@pytest.mark.parametrize("name", ["1. mace", "I am not", "| JAMES", "mace", "mallu_danzam", "Three Word Name", "A"])
def test_what_a_small_model_wrote_for_names_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        CharacterDraft(name=name, description="An old keeper of the light.", voice_notes="")


@pytest.mark.parametrize("text", ["You again, at my door?", "Wait…", "¿Quién eres?", "It costs 5 coins."])
def test_a_written_line_is_one_spoken_sentence(text: str) -> None:
    assert DialogueLineDraft(speaker="Mira", text=text).text == text


@pytest.mark.parametrize("text", ["I am. I will.", "1. I will", "no capital.", "Endless words without an end", "| MACE"])
def test_lines_that_are_lists_chains_or_unfinished_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        DialogueLineDraft(speaker="Mira", text=text)


def test_a_scene_beat_is_a_sentence_not_a_word() -> None:
    assert SceneDraft(place="Lighthouse", plot_element="climax", beat="Alana finds Silas on the rocks.").beat
    for beat in ("mace", "jim", "SjhkHlEIQNwMgYUfWvFZmJyBKR"):
        with pytest.raises(ValidationError):
            SceneDraft(place="Lighthouse", plot_element="climax", beat=beat)
