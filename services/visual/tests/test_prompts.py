from __future__ import annotations

from helix.story import Shot
from helix_visual import prompts

SHOT = Shot(shot_id="s1-shot2", shot_type="close_up", camera="dolly", subjects=["MARA", "TOM"], action="they argue",
            location="Lamp room", duration_s=4)


def test_a_shot_becomes_a_frame_prompt_with_the_style() -> None:
    text = prompts.shot_prompt(SHOT, extra=None, style="charcoal sketch")
    assert text.startswith("storyboard frame, close up shot, dolly camera")
    assert "MARA and TOM: they argue" in text and "at Lamp room" in text and text.endswith("charcoal sketch")


def test_same_location_and_characters_same_seed_whatever_the_action() -> None:
    other_action = SHOT.model_copy(update={"shot_id": "s1-shot3", "action": "silence", "subjects": ["TOM", "MARA"]})
    elsewhere = SHOT.model_copy(update={"location": "Harbour"})
    assert prompts.shot_seed(7, SHOT) == prompts.shot_seed(7, other_action)
    assert prompts.shot_seed(7, SHOT) != prompts.shot_seed(7, elsewhere)
    assert prompts.shot_seed(7, SHOT) != prompts.shot_seed(8, SHOT)
    assert 0 <= prompts.stable_seed("x") < 2**63
