"""What the writer's steps rely on from a model (`StructuredGenerator`), as the real generator over
the tiny model keeps it: a value of the schema, the parameters it really ran with, its model
time, seeded reproducibility, and the room a prompt leaves."""

from __future__ import annotations

import dataclasses

import pytest

from helix.story import ActsDraft, TitleDraft, exactly, json_budget
from helix_writer import prompts
from helix_writer.structured import Generated, StructuredGenerator

from .conftest import RecordingGenerator


def real(generator: RecordingGenerator) -> StructuredGenerator:
    assert generator.inner is not None
    return generator.inner


async def test_a_generation_is_a_value_of_the_schema_with_the_parameters_it_really_ran_with(
        generator: RecordingGenerator) -> None:
    model = real(generator)
    schema = exactly(ActsDraft, "acts", 2)
    budget = json_budget(schema, model.tokens_per_char)
    out = await model.generate_json(prompts.acts(prompts.system(""), "One last storm.", "The Last Light", [], 2), schema,
                                    max_new_tokens=budget, seed=3)
    assert isinstance(out, Generated) and isinstance(out.value, schema) and len(out.value.acts) == 2
    assert out.parameters["max_new_tokens"] == budget and out.parameters["finish_reason"] == "stop"
    assert 0 < out.parameters["new_tokens"] < budget and out.parameters["grammar"] == "json-schema"
    assert (out.parameters["device"], out.parameters["engine"]) == ("cpu", "TextEngine")
    assert out.cost is not None and out.cost.model_seconds > 0 and out.cost.gpu_seconds == 0 and out.cost.device == "cpu"
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.value = TitleDraft(title="Xy")  # type: ignore[misc]


async def test_a_seed_reproduces_a_generation_and_another_seed_varies_it(generator: RecordingGenerator) -> None:
    model = real(generator)
    messages = prompts.title(prompts.system(""), "One last storm.")
    budget = json_budget(TitleDraft, model.tokens_per_char)
    titles = [(await model.generate_json(messages, TitleDraft, max_new_tokens=budget, seed=seed)).value.title
              for seed in (1, 1, 2)]
    assert titles[0] == titles[1] != titles[2]


def test_the_room_left_shrinks_by_the_length_of_the_prompt(generator: RecordingGenerator) -> None:
    model = real(generator)
    engine = generator.inner.engine  # type: ignore[union-attr]
    short = prompts.title(prompts.system(""), "A storm.")
    long = prompts.title(prompts.system("", examples="INT. LIGHTHOUSE - NIGHT " * 40), "A storm.")
    grown = len(engine.prompt_ids(long)) - len(engine.prompt_ids(short))
    assert grown > 100 and model.room(short) - model.room(long) == grown
    assert model.room(short) + len(engine.prompt_ids(short)) == engine.context_limit
