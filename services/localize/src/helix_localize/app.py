"""The localize service process, wiring only: settings → translation and speech engines,
the generator kit's service shell → request steps (`requests.py`) and reactions to review
decisions (`reactions.py`: requests the service makes of itself). Decisions are recorded
(approvals) so that only approved scripts are localized and only approved frames and tracks
are cut into an animatic."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from helix.events import Topic
from helix.generation.jobs import JobRefused
from helix.generation.service import GeneratorService
from helix.settings import helix_home
from helix_localize import reactions, requests
from helix_localize.settings import LocalizeSettings

SERVICE = "localize"


def ensure_models(settings: LocalizeSettings) -> None:
    """The tiny models wherever the settings use them (by default, or named as a fallback:
    `helix.models.loading.tiny_fallback`), and the program backends checked at start-up: an
    eSpeak NG voice or an Apertium pair that is not installed stops the service with the reason."""
    from helix.models.loading import tiny_fallback
    from helix_localize.programs import is_program_translator, is_program_voice, load_apertium, load_program_voice

    models = helix_home() / "models"
    tiny = {str(models / "tiny-marian"): ("marian", "HELIX_LOCALIZE_TRANSLATION_MODELS"),
            str(models / "tiny-vits"): ("vits", "HELIX_LOCALIZE_VOICES")}
    for model in dict.fromkeys([*settings.translation_models().values(), *settings.voices().values()]):
        if model in tiny:
            kind, setting = tiny[model]
            tiny_fallback(Path(model), kind=kind, setting=setting)
    for key, model in settings.translation_models().items():
        if is_program_translator(model):
            _check(partial(load_apertium, model), f"HELIX_LOCALIZE_TRANSLATION_MODELS[{key!r}] = {model!r}")
    for key, model in settings.voices().items():
        if is_program_voice(model):
            _check(partial(load_program_voice, model), f"HELIX_LOCALIZE_VOICES[{key!r}] = {model!r}")


def _check(load: Callable[[], object], setting: str) -> None:
    try:
        load()
    except (JobRefused, FileNotFoundError, ValueError) as exc:
        raise RuntimeError(f"{setting} cannot be used here: {exc}") from None


class LocalizeApp(GeneratorService):
    def __init__(self, settings: LocalizeSettings) -> None:
        from helix_localize.animatic import Editor
        from helix_localize.casting import NoCasting, ReviewCasting
        from helix_localize.localize import Localizer
        from helix_localize.translation import Translator
        from helix_localize.voice import Speaker

        super().__init__(settings, SERVICE)
        self.settings: LocalizeSettings = settings
        ensure_models(settings)
        self.translator = Translator(dtype=settings.localize_dtype, device=settings.localize_device, num_beams=settings.localize_num_beams,
                                     max_batch=settings.localize_max_batch, max_queue=settings.localize_max_queue)
        self.speaker = Speaker(device=settings.localize_device, max_batch=settings.localize_max_batch, max_queue=settings.localize_max_queue,
                               workers=max(1, settings.localize_speech_workers), processes=settings.localize_speech_workers > 0,
                               threads=settings.torch_threads or 0, nice=settings.bulk_nice)
        listener = None
        if settings.localize_listen:
            from helix_localize.listening import Listener

            listener = Listener(settings.listen_model(), threads=settings.torch_threads or 0)
        casting = (ReviewCasting(settings.localize_casting_address, timeout_s=settings.localize_casting_timeout_s)
                   if settings.localize_casting_address else NoCasting())
        self.localizer = Localizer(self.documents, self.translator, self.speaker, settings, listener, casting)
        self.editor = Editor(self.documents, self.approvals)
        self.reactions = reactions.LocalizeReactions(self.documents, self.approvals, self.editor)
        self.listen(Topic.LOCALIZE_REQUESTS, requests.steps(self.localizer, self.editor), react=self.reactions.react,
                    decided=reactions.HANDLED)

    async def start(self) -> None:
        # No API of its own over gRPC: the standard health service and ServerInfo (probes, operators).
        models = {f"translation:{pair}": path for pair, path in self.settings.translation_models().items()}
        models |= {f"voice:{locale}": path for locale, path in self.settings.voices().items()}
        await self.start_serving(self.translator, self.speaker, grpc_address=self.settings.localize_grpc_address, models=models, add=lambda server: None)


__all__ = ["LocalizeApp", "ensure_models"]
