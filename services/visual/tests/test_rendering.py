"""What a model cannot make is refused with the reason; a prompt past the text encoder's
limit is truncated, and the note says what the model read."""

from __future__ import annotations

import pytest

from helix.generation import JobRefused
from helix.generation.reader import Documents
from helix.models.diffusion import LoadedPipeline
from helix.testing import MemoryStore
from helix_visual.engine import ImageEngine, ImageSpec
from helix_visual.rendering import Renderer
from helix_visual.settings import VisualSettings


@pytest.fixture
def renderer(tiny_sd: LoadedPipeline) -> Renderer:
    return Renderer(ImageEngine({"default": tiny_sd}), documents=Documents(MemoryStore(), None), settings=VisualSettings(), optimisations={})


def spec(**fields: object) -> ImageSpec:
    values: dict = {"model": "default", "prompt": "a harbour", "width": 128, "height": 128, "steps": 2, "guidance_scale": 0.0, "seed": 1}
    values.update(fields)
    return ImageSpec(**values)


def test_sizes_the_model_cannot_make_are_refused(renderer: Renderer) -> None:
    with pytest.raises(JobRefused, match="width 100 is not a multiple of 8"):
        renderer.checked(spec(width=100))
    with pytest.raises(JobRefused, match=r"height 1024 is outside what model 'default' makes here \(64-512 pixels\)"):
        renderer.checked(spec(height=1024))
    assert renderer.checked(spec()) == (spec(), {})


def test_an_image_to_image_request_with_no_denoising_step_left_is_refused(renderer: Renderer) -> None:
    with pytest.raises(JobRefused, match="strength 0.3 of 2 steps leaves no denoising step"):
        renderer.checked(spec(init_image=b"png", strength=0.3))
    assert renderer.checked(spec(init_image=b"png", strength=0.5))[0].strength == 0.5  # one step: allowed


def test_a_long_prompt_is_truncated_with_a_note(renderer: Renderer) -> None:
    long_prompt = ", ".join(f"detail number {n}" for n in range(60))
    checked, notes = renderer.checked(spec(prompt=long_prompt))
    assert notes["prompt_truncated"] is True and notes["prompt_tokens"] > notes["prompt_token_limit"] == 77
    assert checked.prompt == notes["prompt_as_read"]
    assert long_prompt.replace(" ", "").startswith(checked.prompt.replace(" ", "")), "the start of the prompt, as the model read it"
    assert renderer.pipeline(None)[1].prompt_tokens(checked.prompt) <= 77


def test_an_unknown_model_name_is_refused(renderer: Renderer) -> None:
    with pytest.raises(JobRefused, match="unknown model 'sdxl'; this service has default"):
        renderer.pipeline("sdxl")
