"""The visual service's requests and its steps: every request type on its topic has a step, and
each step makes its own family of image (a revision a new version of the image it revises)."""

from __future__ import annotations

from typing import Any

from helix.events import FrameRequested, ImageRevisionRequested, JobCompleted, SceneRequested, TextureRequested, Topic, models_on
from helix.generation import Job
from helix_visual.motion import Motion
from helix_visual.rendering import Renderer
from helix_visual.requests import VisualRequests

from .conftest import Studio, image_request


def test_every_request_on_the_visual_topic_has_a_step(studio: Studio) -> None:
    steps = VisualRequests(studio.renderer, Motion(studio.renderer.settings)).steps()
    assert set(steps) == set(models_on(Topic.VISUAL_REQUESTS))


async def test_each_request_type_makes_its_own_family_of_image(studio: Studio) -> None:
    steps = VisualRequests(studio.renderer, Motion(studio.renderer.settings)).steps()

    async def routed(_: Renderer, job: Job[Any]) -> list[str]:
        return await steps[type(job.request)](job)  # type: ignore[return-value]

    requests = [image_request(FrameRequested, job_id="f"), image_request(SceneRequested, job_id="s"),
                image_request(TextureRequested, job_id="t", tileable=False),
                image_request(ImageRevisionRequested, job_id="r", asset_id="scene-s", asset_version=1, notes="more fog")]
    done = [await studio.run(request, routed) for request in requests]
    assert all(isinstance(d, JobCompleted) for d in done), done
    assert [d.asset_ids for d in done] == [["frame-f-1"], ["scene-s"], ["texture-t"], ["scene-s"]]
    assert [(e.kind, e.version, e.revises_version) for e in studio.generated("scene-s")] == [("scene", 1, None), ("scene", 2, 1)]
    assert studio.generated("texture-t")[0].parameters["tiling"] == "none"
