"""Kafka requests to the localize service (`helix.localize.requests.v1`) → its domain steps.

Two request types, one step each: a localization (`Localizer.run`) and an animatic
(`Editor.cut`). Each request is a kit job; requests run side by side as they arrive, so the
translation and speech engines batch the lines of many locales and localizations together."""

from __future__ import annotations

from helix.events import AnimaticRequested, GenerationRequest, LocalizeRequested
from helix.generation.service import Step
from helix_localize.animatic import Editor
from helix_localize.localize import Localizer


def steps(localizer: Localizer, editor: Editor) -> dict[type[GenerationRequest], Step]:
    return {
        LocalizeRequested: localizer.run,
        AnimaticRequested: editor.cut,
    }
