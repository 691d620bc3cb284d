"""The visual service process, wiring only: settings → pipelines, image engine, the renderer
→ request steps (`requests.py`), reactions to review (`reactions.py`: requests the service
makes of itself), and the live preview stream (`grpc_service.py`)."""

from __future__ import annotations

from pathlib import Path

from helix.auth import TokenVerifier
from helix.events import Topic
from helix.generation.service import GeneratorService
from helix_visual import reactions
from helix_visual.requests import VisualRequests
from helix_visual.settings import DEFAULT_MODEL, VisualSettings

SERVICE = "visual"


def ensure_models(settings: VisualSettings) -> dict[str, str]:
    """The configured models; with no default, the tiny pipeline (`helix.models.loading.tiny_fallback`)."""
    from helix.models.loading import tiny_fallback

    paths = settings.model_paths()
    if not settings.visual_model:
        tiny_fallback(Path(paths[DEFAULT_MODEL]), kind="sd", setting="HELIX_VISUAL_MODEL", marker="model_index.json")
    return paths


class VisualApp(GeneratorService):
    def __init__(self, settings: VisualSettings) -> None:
        from helix.models.diffusion import load_image_pipeline
        from helix_visual.engine import ImageEngine
        from helix_visual.rendering import Renderer
        from helix_visual.tuning import apply_speedups

        super().__init__(settings, SERVICE)
        self.settings: VisualSettings = settings
        pipelines = {name: load_image_pipeline(path, revision=settings.visual_revision if name == DEFAULT_MODEL else "main",
                                               dtype=settings.visual_dtype, device=settings.visual_device, scheduler=settings.visual_scheduler)
                     for name, path in ensure_models(settings).items()}
        speedups = {name: apply_speedups(loaded, settings) for name, loaded in pipelines.items()}
        self.engine = ImageEngine(pipelines, max_batch=settings.visual_max_batch, max_queue=settings.visual_max_queue,
                                  batch_wait_s=settings.visual_batch_wait_s)
        self.renderer = Renderer(self.engine, self.documents, settings, speedups)
        self.requests = VisualRequests(self.renderer)
        self.reactions = reactions.VisualReactions(settings)
        self.listen(Topic.VISUAL_REQUESTS, self.requests.steps(), react=self.reactions.react, decided=reactions.HANDLED)

    async def start(self) -> None:
        from helix_visual.grpc_service import add_to_server

        # Directors iterating on a frame get low-step previews (visual.proto PreviewFrames).
        await self.start_serving(self.engine, grpc_address=self.settings.visual_grpc_address,
                                 models={name: f"{p.ref.id}@{p.ref.revision}" for name, p in self.engine.pipelines.items()},
                                 add=lambda server: add_to_server(server, self.renderer, TokenVerifier(self.settings)))


__all__ = ["VisualApp", "ensure_models"]
