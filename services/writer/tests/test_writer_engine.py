"""TextEngine on the tiny model: batching, padding, budgets, seeds, backpressure, streams, grammars."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from helix.models.loading import LoadedLM
from helix_writer.engine import EngineStopped, GenerationRequest, TextEngine, json_safe_schema


def chat(text: str) -> list[dict]:
    return [{"role": "system", "content": "You write dialogue."}, {"role": "user", "content": text}]


@pytest.fixture
async def engine(tiny_lm: LoadedLM) -> AsyncIterator[TextEngine]:
    async with TextEngine(tiny_lm, max_batch=16, max_queue=64) as eng:
        yield eng


class CountingGenerate:
    """Wraps model.generate to count calls and batch sizes."""

    def __init__(self, lm: LoadedLM, monkeypatch: pytest.MonkeyPatch) -> None:
        self.batch_sizes: list[int] = []
        original = lm.model.generate

        def counted(*args, **kwargs):
            self.batch_sizes.append(int(kwargs["input_ids"].shape[0]))
            return original(*args, **kwargs)

        monkeypatch.setattr(lm.model, "generate", counted)


async def test_concurrent_requests_share_generate_calls(engine: TextEngine, tiny_lm: LoadedLM, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = CountingGenerate(tiny_lm, monkeypatch)
    prompts = [f"Line {i}: " + "MARA waits by the lighthouse. " * (i % 5) for i in range(16)]
    budgets = [8 + i for i in range(16)]
    requests = [GenerationRequest(chat(p), max_new_tokens=b, min_new_tokens=b, seed=i) for i, (p, b) in enumerate(zip(prompts, budgets, strict=True))]
    results = await asyncio.gather(*(engine.generate(r) for r in requests))
    assert sum(calls.batch_sizes) == 16
    assert len(calls.batch_sizes) <= 2, calls.batch_sizes  # 16 concurrent requests: one or two batches, not 16 calls
    for request, result, budget in zip(requests, results, budgets, strict=True):
        assert result.new_tokens == budget  # each row's own budget, in a batch that ran to the largest
        assert result.finish_reason == "length"
        assert result.prompt_tokens == len(engine.prompt_ids(request.messages))
        assert result.text
    assert len({r.prompt_tokens for r in results}) > 1  # prompts of different lengths were padded together


async def test_left_padding_does_not_change_a_greedy_row(engine: TextEngine) -> None:
    short = GenerationRequest(chat("Hi."), max_new_tokens=12, min_new_tokens=12, temperature=0)
    alone = await engine.generate(short)
    long_prompt = GenerationRequest(chat("A long prompt about the harbor office at night. " * 6), max_new_tokens=12, temperature=0)
    batched, _ = await asyncio.gather(engine.generate(short), engine.generate(long_prompt))
    assert engine.stats.largest_batch >= 2
    assert batched.text == alone.text


async def test_seed_reproduces_a_sampled_row(engine: TextEngine) -> None:
    def req(seed: int) -> GenerationRequest:
        return GenerationRequest(chat("Rewrite: We leave at five."), max_new_tokens=24, min_new_tokens=24, temperature=1.0, seed=seed)

    first = await asyncio.gather(engine.generate(req(7)), engine.generate(req(8)))
    again = await asyncio.gather(engine.generate(req(7)), engine.generate(req(8)))
    assert [r.text for r in first] == [r.text for r in again]
    assert first[0].text != first[1].text  # same prompt, same batch, different seeds


async def test_stream_pieces_add_up_and_breaking_off_cancels_the_row(engine: TextEngine) -> None:
    stream = engine.stream(GenerationRequest(chat("Go on."), max_new_tokens=32, min_new_tokens=32, seed=3))
    pieces = [piece async for piece in stream]
    assert stream.result is not None and len(pieces) > 1
    assert "".join(pieces) == stream.result.text

    tokens_before = engine.stats.new_tokens
    long = engine.stream(GenerationRequest(chat("Go on."), max_new_tokens=1500, min_new_tokens=1500, seed=3))
    async for _ in long:
        break
    await long.aclose()
    assert long.result is None
    # the engine notices the abandoned row at its next step and ends the batch early
    result = await engine.generate(GenerationRequest(chat("Next."), max_new_tokens=4, min_new_tokens=4))
    assert result.new_tokens == 4
    for _ in range(100):
        if engine.in_flight == 0:
            break
        await asyncio.sleep(0.05)
    assert engine.stats.new_tokens - tokens_before < 1000


async def test_full_queue_makes_callers_wait(tiny_lm: LoadedLM) -> None:
    gate = threading.Event()
    async with TextEngine(tiny_lm, max_batch=1, max_queue=2, batch_wait_s=0) as eng:
        run_batch = eng._run_batch

        def gated(jobs):
            gate.wait(30)
            return run_batch(jobs)

        eng._run_batch = gated  # type: ignore[method-assign]
        tasks = [asyncio.create_task(eng.generate(GenerationRequest(chat(f"n{i}"), max_new_tokens=2))) for i in range(5)]
        for _ in range(100):
            await asyncio.sleep(0.01)
            if eng.in_flight == 1 and eng.queued == 2:
                break
        # one request in the (blocked) batch, two queued, two callers waiting to enqueue
        assert (eng.in_flight, eng.queued, eng.stats.submitted) == (1, 2, 3)
        assert not any(t.done() for t in tasks)
        gate.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), 60)
        assert len(results) == 5 and eng.stats.submitted == 5 and eng.stats.largest_batch == 1


async def test_stop_fails_queued_requests(tiny_lm: LoadedLM) -> None:
    gate = threading.Event()
    eng = TextEngine(tiny_lm, max_batch=1, max_queue=4, batch_wait_s=0)
    await eng.start()
    run_batch = eng._run_batch
    eng._run_batch = lambda jobs: (gate.wait(30), run_batch(jobs))  # type: ignore[method-assign]
    tasks = [asyncio.create_task(eng.generate(GenerationRequest(chat("x"), max_new_tokens=2))) for _ in range(3)]
    await asyncio.sleep(0.1)
    gate.set()
    await eng.stop()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(isinstance(o, EngineStopped) for o in outcomes) >= 1
    with pytest.raises(EngineStopped):
        await eng.generate(GenerationRequest(chat("x"), max_new_tokens=2))


async def test_invalid_requests_are_refused(engine: TextEngine) -> None:
    with pytest.raises(ValueError):
        await engine.generate(GenerationRequest(chat("x"), max_new_tokens=0))
    with pytest.raises(ValueError):
        await engine.generate(GenerationRequest([], max_new_tokens=4))
    with pytest.raises(ValueError, match="positions"):
        await engine.generate(GenerationRequest(chat("x"), max_new_tokens=2048))


# -- grammar-constrained generation --------------------------------------------------------

class Character(BaseModel):
    name: str = Field(min_length=1, max_length=24)
    description: str = Field(max_length=80)
    role: Literal["protagonist", "antagonist", "supporting"]


class CharacterSheet(BaseModel):
    characters: list[Character] = Field(min_length=1, max_length=4)
    tone: Literal["comedy", "drama", "thriller"]


def test_length_bounded_strings_get_a_json_safe_pattern() -> None:
    schema = json_safe_schema(CharacterSheet.model_json_schema())
    name = schema["$defs"]["Character"]["properties"]["name"]
    assert name["pattern"] == "^[ !#-\\[\\]-\ud7ff\ue000-\U0010ffff]{1,24}$"
    assert "maxLength" not in name
    assert "pattern" not in schema["$defs"]["Character"]["properties"]["role"]


async def test_100_constrained_requests_validate(engine: TextEngine, tiny_lm: LoadedLM, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = CountingGenerate(tiny_lm, monkeypatch)
    schema = CharacterSheet.model_json_schema()
    requests = [
        GenerationRequest(chat(f"Characters for story {i}, as JSON."), max_new_tokens=1024, json_schema=schema, temperature=1.0, seed=i)
        for i in range(100)
    ]
    # a few free rows in the same batches: constrained and free requests mix
    free = [GenerationRequest(chat("Say anything."), max_new_tokens=16, seed=i) for i in range(4)]
    results = await asyncio.gather(*(engine.generate(r) for r in requests + free))
    sheets = [CharacterSheet.model_validate_json(r.text) for r in results[:100]]  # raises on any invalid output
    assert len(sheets) == 100
    assert all(r.finish_reason == "stop" for r in results[:100])
    assert len(calls.batch_sizes) < 20  # batched, not one call per request
    # the random model really explored the schema, not one fixed answer
    assert len({len(s.characters) for s in sheets}) > 1
    assert len({s.tone for s in sheets}) > 1
    assert len({s.characters[0].name for s in sheets}) > 50
