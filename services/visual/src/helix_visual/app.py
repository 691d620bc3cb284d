"""The visual service process, wiring only: settings → pipelines (`pipelines.py`, in the
service's process, or in the engine's worker process: `worker.py`), image engine, the renderer
→ request steps (`requests.py`), reactions to review (`reactions.py`: requests the service
makes of itself), and the live preview stream (`grpc_service.py`)."""

from __future__ import annotations

from helix.auth import TokenVerifier
from helix.events import Topic
from helix.generation.service import GeneratorService
from helix_visual import reactions
from helix_visual.motion import Motion
from helix_visual.pipelines import load_pipelines
from helix_visual.requests import VisualRequests
from helix_visual.settings import VisualSettings

SERVICE = "visual"


class VisualApp(GeneratorService):
    def __init__(self, settings: VisualSettings) -> None:
        from helix_visual.engine import ImageEngine
        from helix_visual.rendering import Renderer

        super().__init__(settings, SERVICE)
        self.settings: VisualSettings = settings
        limits = {"max_batch": settings.visual_max_batch, "max_queue": settings.visual_max_queue}
        if settings.visual_worker_process:  # the pipelines live in the engine's worker process
            from helix_visual.worker import WorkerImageEngine

            worker = WorkerImageEngine(settings, **limits, batch_wait_s=settings.visual_batch_wait_s)
            self.engine: ImageEngine = worker
            speedups = worker.speedups
        else:
            pipelines, speedups = load_pipelines(settings)
            self.engine = ImageEngine(pipelines, **limits, batch_wait_s=settings.visual_batch_wait_s)
        self.renderer = Renderer(self.engine, self.documents, settings, speedups)
        self.requests = VisualRequests(self.renderer, Motion(settings))
        self.reactions = reactions.VisualReactions(settings)
        self.listen(Topic.VISUAL_REQUESTS, self.requests.steps(), react=self.reactions.react, decided=reactions.HANDLED)

    async def start(self) -> None:
        from helix_visual.grpc_service import add_to_server

        # Directors iterating on a frame get low-step previews (visual.proto PreviewFrames).
        await self.start_serving(self.engine, grpc_address=self.settings.visual_grpc_address,
                                 models={name: f"{p.ref.id}@{p.ref.revision}" for name, p in self.engine.models.items()},
                                 add=lambda server: add_to_server(server, self.renderer, TokenVerifier(self.settings)))


__all__ = ["VisualApp"]
