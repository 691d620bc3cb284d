"""The Fountain output parses, with a parser Helix did not write (screenplain), into the
same scenes and speakers as the script's JSON — whatever text a model put in it."""

from __future__ import annotations

import io
import random

import pytest
from screenplain.parsers import fountain
from screenplain.types import Action, Dialog, Slug

from helix.story import Character, DialogueLine, Place, PlotElement, SceneScript, Script
from helix_writer.fountain import to_fountain

NASTY = ["INT. ", "EXT. ", "CUT TO:", "(beat)", "> centered <", "# section", "= synopsis", "!", "@", "~lyric", "*bold*",
         "[[note]]", "[[[", "/*/", "MARA", "\n\nJONAH\n", "  ", "ÉTÉ ✨", "...", "/* boneyard", "Title: fake", "===", "\t"]


def _random_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(NASTY + ["word ", "the light ", "x"]) for _ in range(n))[:150] or "x"


def _script(rng: random.Random) -> Script:
    speakers = ["Mara Quinn", "jonah", "Dr. Reyes", "ANNA-LIESE", "o'neil", "✨", "12"]
    scenes = []
    for i in range(1, rng.randint(1, 5) + 1):
        lines = [DialogueLine(line_id=f"s{i}-l{n}", speaker=rng.choice(speakers), parenthetical=rng.choice(["", "softly", "(beat)"]),
                              text=_random_text(rng, rng.randint(1, 8))) for n in range(1, rng.randint(1, 4) + 1)]
        scenes.append(SceneScript(scene_id=f"s{i}", place=_random_text(rng, 2)[:24], plot_element=rng.choice(list(PlotElement)),
                                  beat=_random_text(rng, rng.randint(1, 6)), dialogue=lines))
    return Script(production_id="lighthouse", logline="One last storm.", title=_random_text(rng, 3), characters=[
        Character(name="Mara", description="keeper")], places=[Place(name="Lamp room", description="glass")], scenes=scenes)


@pytest.mark.parametrize("seed", range(40))
def test_fountain_parses_into_the_same_scenes_and_speakers(seed: int) -> None:
    script = _script(random.Random(seed))
    parsed = list(fountain.parse(io.StringIO(to_fountain(script))))
    slugs = [p for p in parsed if isinstance(p, Slug)]
    dialogs = [p for p in parsed if isinstance(p, Dialog)]
    assert len(slugs) == len(script.scenes)
    assert all(isinstance(p, Slug | Action | Dialog) for p in parsed), [type(p).__name__ for p in parsed]
    expected_speakers = [line.speaker for s in script.scenes for line in s.dialogue]
    assert len(dialogs) == len(expected_speakers)
    for dialog, speaker in zip(dialogs, expected_speakers, strict=True):
        # cues are upper-cased and stripped of punctuation Fountain cannot carry
        assert "".join(ch for ch in str(dialog.character).upper() if ch.isalnum()) in "".join(
            ch for ch in speaker.upper() if ch.isalnum()) or not any(ch.isalpha() for ch in speaker)


def test_title_page() -> None:
    script = _script(random.Random(1)).model_copy(update={"title": "The Lighthouse Keeper"})
    screenplay = fountain.parse(io.StringIO(to_fountain(script)))
    assert screenplay.title_page["Title"] == ["The Lighthouse Keeper"]


@pytest.mark.parametrize("speaker, cue", [("ミナ", "ミナ"), ("Ольга", "ОЛЬГА"), ("José", "JOSÉ"), ("Zoë-Anne", "ZOË-ANNE"),
                                          ("李雷", "李雷"), ("Mara", "MARA")])
def test_every_character_cue_survives_in_its_own_script(speaker: str, cue: str) -> None:
    script = Script(production_id="p", logline="x", title="International", characters=[Character(name=speaker, description="d")],
                    places=[Place(name="Bar", description="d")],
                    scenes=[SceneScript(scene_id="s1", place="Bar", plot_element=PlotElement.EXPOSITION, beat="They meet.",
                                        dialogue=[DialogueLine(line_id="s1-l1", speaker=speaker, text="Hello.")])])
    (dialog,) = [p for p in fountain.parse(io.StringIO(to_fountain(script))) if isinstance(p, Dialog)]
    assert str(dialog.character) == cue
