"""The writer service process, wiring only: settings → model engine, the script repository,
the writer's steps → request handlers (`requests.py`), reactions to review (`reactions.py`,
requests the writer makes of itself), the gRPC stream."""

from __future__ import annotations

from pathlib import Path

from helix.events import Topic
from helix.generation.service import GeneratorService
from helix_writer import reactions
from helix_writer.edits import ScriptEditor
from helix_writer.levels import StoryWriter
from helix_writer.repository import ScriptRepository
from helix_writer.requests import WriterRequests
from helix_writer.settings import WriterSettings

SERVICE = "writer"


def ensure_model(settings: WriterSettings) -> str:
    """The configured model; with none, the tiny Llama (`helix.models.loading.tiny_fallback`)."""
    from helix.models.loading import tiny_fallback

    if settings.writer_model:
        return settings.writer_model
    return str(tiny_fallback(Path(settings.model_path()), kind="llama", setting="HELIX_WRITER_MODEL"))


class WriterApp(GeneratorService):
    def __init__(self, settings: WriterSettings) -> None:
        from helix.models.loading import load_causal_lm
        from helix_writer.engine import JsonGenerator, TextEngine
        from helix_writer.static_engine import StaticTextEngine

        super().__init__(settings, SERVICE)
        self.settings: WriterSettings = settings
        loaded = load_causal_lm(ensure_model(settings), revision=settings.writer_revision, dtype=settings.writer_dtype,
                                device=settings.writer_device)
        engine = TextEngine if settings.writer_engine == "continuous" else StaticTextEngine
        self.engine = engine(loaded, max_batch=settings.writer_max_batch, max_queue=settings.writer_max_queue)
        generator = JsonGenerator(self.engine, temperature=settings.writer_temperature, top_p=settings.writer_top_p,
                                  repetition_penalty=settings.writer_repetition_penalty, repetition_window=settings.writer_repetition_window,
                                  no_repeat_ngram=settings.writer_no_repeat_ngram)
        self.repository = ScriptRepository(self.documents, generator.model_ref)
        self.writer = StoryWriter(generator, self.repository, lines_per_scene=settings.writer_lines_per_scene)
        self.editor = ScriptEditor(self.writer, self.repository)
        self.requests = WriterRequests(self.writer, self.editor, self.repository, settings.writer_prefix_sets)
        self.listen(Topic.WRITER_REQUESTS, self.requests.steps(), react=reactions.react, decided=reactions.HANDLED)

    async def start(self) -> None:
        from helix.auth import TokenVerifier
        from helix_writer.grpc_service import add_to_server

        # People iterating on a line get tokens as they come (writer.proto RewriteLine).
        await self.start_serving(self.engine, grpc_address=self.settings.writer_grpc_address,
                                 models={"writer": f"{self.engine.lm.ref.id}@{self.engine.lm.ref.revision}"},
                                 add=lambda server: add_to_server(server, self.engine, TokenVerifier(self.settings)))


__all__ = ["WriterApp", "ensure_model"]
