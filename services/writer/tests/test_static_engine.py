"""What is the static engine's own (the rest it shares with the continuous one, `test_engine.py`):
one padded `generate` per batch, model time shared among the rows of a step and no longer
charged to a finished row, greedy rows that ignore their seed, `min_new_tokens` holding only
free rows, a request abandoned in the queue never run, and stopping after the running batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from helix.models import EngineStopped
from helix.models.loading import LoadedLM
from helix.story import TitleDraft
from helix_writer.engine import GenerationRequest, GenerationResult
from helix_writer.static_engine import StaticTextEngine

from .conftest import chat


def exactly(tokens: int, text: str = "Go on.", **fields: object) -> GenerationRequest:
    return GenerationRequest(chat(text), max_new_tokens=tokens, min_new_tokens=tokens, **fields)  # type: ignore[arg-type]


@pytest.fixture
async def engine(tiny_lm: LoadedLM, one_thread: None) -> AsyncIterator[StaticTextEngine]:
    async with StaticTextEngine(tiny_lm, max_batch=8, max_queue=16, batch_wait_s=0.05) as eng:
        yield eng


async def wait_for(condition: object, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.005)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the engine never got there")


async def in_one_batch(engine: StaticTextEngine, *requests: GenerationRequest) -> list[GenerationResult]:
    """`requests` queued while another batch runs, so that they make the next batch together."""
    running = asyncio.create_task(engine.generate(exactly(200)))
    await wait_for(lambda: engine.stats.batches == 1)
    waiting = [asyncio.create_task(engine.generate(r)) for r in requests]
    await wait_for(lambda: engine.queued == len(requests))
    await running
    results = await asyncio.gather(*waiting)
    assert (engine.stats.batches, engine.stats.largest_batch) == (2, len(requests))
    return results


async def test_one_padded_generate_runs_the_whole_batch_and_each_row_gets_its_own_budget(engine: StaticTextEngine) -> None:
    budgets = [3, 9, 17, 40]
    results = await in_one_batch(engine, *(exactly(b, "x" * b, seed=b) for b in budgets))
    assert [r.new_tokens for r in results] == budgets and engine.stats.rows == 5
    assert engine.in_flight == 0 and engine.stats.steps == 0, "a static batch runs to its end inside one call"


async def test_a_steps_time_is_shared_among_its_rows(engine: StaticTextEngine) -> None:
    results = await in_one_batch(engine, *(exactly(24, seed=n) for n in range(4)))
    first = results[0]
    assert all(r.model_seconds == pytest.approx(first.model_seconds) for r in results)
    assert all(r.compute_seconds == pytest.approx(first.model_seconds / 4) for r in results)


async def test_a_row_that_finished_is_no_longer_charged_for_the_batch(engine: StaticTextEngine) -> None:
    short, long = await in_one_batch(engine, exactly(4), exactly(200))
    assert (short.new_tokens, long.new_tokens) == (4, 200)
    assert short.model_seconds < long.model_seconds / 5
    assert short.seconds < long.seconds


async def test_greedy_rows_ignore_their_seed(engine: StaticTextEngine) -> None:
    one, two = await in_one_batch(engine, exactly(20, temperature=0, seed=1), exactly(20, temperature=0, seed=2))
    assert one.text == two.text


async def test_min_new_tokens_holds_back_eos_for_free_rows_only(engine: StaticTextEngine) -> None:
    schema = TitleDraft.model_json_schema()
    title = GenerationRequest(chat("A title."), max_new_tokens=400, min_new_tokens=400, json_schema=schema, seed=3)
    constrained, free = await in_one_batch(engine, title, exactly(400, seed=3))
    assert constrained.finish_reason == "stop" and constrained.new_tokens < 400
    TitleDraft.model_validate_json(constrained.text)
    assert (free.finish_reason, free.new_tokens) == ("length", 400)


async def test_a_request_abandoned_while_queued_never_reaches_the_model(tiny_lm: LoadedLM, one_thread: None) -> None:
    async with StaticTextEngine(tiny_lm, max_batch=1, batch_wait_s=0) as eng:
        running = asyncio.create_task(eng.generate(exactly(300)))
        await wait_for(lambda: eng.stats.batches == 1)
        abandoned = asyncio.create_task(eng.generate(exactly(300)))
        await wait_for(lambda: eng.queued == 1)
        abandoned.cancel()
        assert (await running).new_tokens == 300
        assert (await eng.generate(exactly(2))).new_tokens == 2
        assert (eng.stats.submitted, eng.stats.rows, eng.stats.batches) == (3, 2, 2)


async def test_stopping_lets_the_running_batch_finish_and_fails_the_queued_requests(tiny_lm: LoadedLM, one_thread: None) -> None:
    eng = StaticTextEngine(tiny_lm, max_batch=1, batch_wait_s=0)
    await eng.start()
    running = asyncio.create_task(eng.generate(exactly(300)))
    await wait_for(lambda: eng.stats.batches == 1)
    queued = [asyncio.create_task(eng.generate(exactly(5))) for _ in range(2)]
    await wait_for(lambda: eng.queued == 2)
    await eng.stop()
    outcomes = await asyncio.wait_for(asyncio.gather(running, *queued, return_exceptions=True), 30)
    assert not isinstance(outcomes[0], BaseException) and outcomes[0].new_tokens == 300
    assert all(isinstance(o, EngineStopped) for o in outcomes[1:]), outcomes
    assert eng.stats.rows == 1
