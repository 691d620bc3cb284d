"""WorkerImageEngine: the tiny pipeline drawn in a worker process gives the in-process engine's
pixels, reports every step, passes a cancellation across, survives its worker's death and
never outlives the engine."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from helix.models.diffusion import LoadedPipeline
from helix.testing.processes import alive
from helix_visual.engine import ImageEngine, ImageSpec
from helix_visual.settings import VisualSettings
from helix_visual.worker import WorkerDied, WorkerImageEngine


def spec(seed: int = 1, **fields: object) -> ImageSpec:
    values: dict = {"model": "default", "prompt": "a lighthouse in fog", "width": 64, "height": 64, "steps": 3, "guidance_scale": 0.0,
                    "seed": seed}
    values.update(fields)
    return ImageSpec(**values)


@pytest.fixture(scope="module")
def worker_settings(tiny_sd_dir: Path) -> VisualSettings:
    return VisualSettings(visual_model=str(tiny_sd_dir), visual_dtype="float32", visual_device="cpu", bulk_nice=0)


@pytest.fixture
async def worker(worker_settings: VisualSettings) -> AsyncIterator[WorkerImageEngine]:
    engine = await asyncio.to_thread(WorkerImageEngine, worker_settings, max_batch=4, max_queue=16)
    async with engine:
        yield engine


async def test_the_worker_draws_what_the_service_would_and_reports_every_step(worker: WorkerImageEngine,
                                                                              tiny_sd: LoadedPipeline) -> None:
    assert worker.pid is not None and worker.pid != os.getpid()
    facts = worker.models["default"]
    assert facts.ref == tiny_sd.ref and facts.native_size == tiny_sd.native_size and facts.scheduler_class == tiny_sd.facts.scheduler_class
    assert facts.read_prompt("a lighthouse in fog") == tiny_sd.read_prompt("a lighthouse in fog"), "the tokenizer crossed with the facts"
    steps: list[tuple[int, int]] = []

    async def on_step(step: int, total: int) -> None:
        steps.append((step, total))

    drawn = await asyncio.gather(worker.render(spec(42), on_step=on_step), worker.render(spec(43)))
    async with ImageEngine({"default": tiny_sd}, max_batch=4, max_queue=16) as here:
        local = await asyncio.gather(here.render(spec(42)), here.render(spec(43)))
    assert [r.batch_size for r in drawn] == [2, 2]
    for theirs, ours in zip(drawn, local, strict=True):
        assert theirs.image.size == ours.image.size and theirs.image.mode == ours.image.mode
        assert np.array_equal(np.asarray(theirs.image), np.asarray(ours.image)), "same request, same batch: same pixels"
    assert steps == [(1, 3), (2, 3), (3, 3)]


async def test_a_caller_giving_up_stops_the_drawing_in_the_worker(worker: WorkerImageEngine) -> None:
    started = asyncio.Event()

    async def on_step(step: int, total: int) -> None:
        started.set()

    task = asyncio.create_task(worker.render(spec(1, steps=200, width=128, height=128), on_step=on_step))
    await asyncio.wait_for(started.wait(), 60)
    task.cancel()
    begun = time.perf_counter()
    with pytest.raises(asyncio.CancelledError):
        await task
    result = await asyncio.wait_for(worker.render(spec(2)), 60)  # the worker is free again, long before 200 steps
    assert result.image.size == (64, 64) and time.perf_counter() - begun < 60


async def test_a_dead_worker_fails_its_batch_and_the_next_batch_starts_another(worker: WorkerImageEngine) -> None:
    started = asyncio.Event()

    async def on_step(step: int, total: int) -> None:
        started.set()

    first = worker.pid
    assert first is not None
    task = asyncio.create_task(worker.render(spec(1, steps=200, width=128, height=128), on_step=on_step))
    await asyncio.wait_for(started.wait(), 60)
    os.kill(first, signal.SIGKILL)
    with pytest.raises(WorkerDied, match="ended"):
        await asyncio.wait_for(task, 60)
    result = await asyncio.wait_for(worker.render(spec(2)), 120)
    assert result.image.size == (64, 64) and worker.pid not in (None, first)


async def test_stopping_the_engine_ends_its_worker(worker_settings: VisualSettings) -> None:
    engine = await asyncio.to_thread(WorkerImageEngine, worker_settings)
    async with engine:
        pid = engine.pid
        assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_worker_that_cannot_load_says_why(tmp_path: Path) -> None:
    settings = VisualSettings(visual_model=str(tmp_path / "missing"), visual_device="cpu", bulk_nice=0)
    with pytest.raises(WorkerDied, match="could not load its pipelines"):
        WorkerImageEngine(settings)


PARENT = """
import sys, time
from helix_visual.settings import VisualSettings
from helix_visual.worker import WorkerImageEngine

if __name__ == "__main__":  # the worker's fork server imports this module again, as a service's entry point is
    engine = WorkerImageEngine(VisualSettings(visual_model=sys.argv[1], visual_dtype="float32", visual_device="cpu", bulk_nice=0))
    print("worker", engine.pid, flush=True)
    time.sleep(600)
"""


@pytest.mark.slow
def test_the_worker_ends_when_the_service_is_killed(tiny_sd_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script), str(tiny_sd_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        line = next(line for line in parent.stdout if line.startswith("worker"))  # past the service's log lines
        worker = int(line.split()[1])
        assert alive(worker)
        parent.kill()  # kill -9: no cleanup runs in the service
        parent.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and alive(worker):
            time.sleep(0.1)
        assert not alive(worker), "the image worker outlived the service"
    finally:
        parent.kill()

