"""Every stored document one service writes and another reads, typed once.

The writer's parts are `LevelDocument[...]` (a part's name, its script and its content:
a title, the characters, the scenes, the places, one scene's dialogue or storyboard, the
assembled `Script`); the localize service writes a `TimelineDocument`, a
`TranslationDocument`, a `SubtitleQcReport` and a `TimingReport` per locale, and the
animatic records its `AnimaticPlan`. Producers write through these models, consumers read
through them (`helix.generation.reader.Documents`), and `helix events schemas` exports
their JSON Schemas beside the events'. Documents only gain optional fields; a document that
does not validate is corrupt (a fault to fix and replay), never bad input.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from helix.casting import SpokenVoice
from helix.events.data import LineChange, ModelRef, ScriptLevel
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix.story import Act, Character, DialogueLine, DialogueRewrite, Place, SceneScript, Script, Storyboard

C = TypeVar("C")

__all__ = [
    "AnimaticCut",
    "AnimaticPlan",
    "CharactersDocument",
    "DOCUMENT_MODELS",
    "DialogueDocument",
    "FittedLine",
    "LevelDocument",
    "LineSelection",
    "PlacesDocument",
    "QcBreach",
    "QcFix",
    "RewriteDocument",
    "ScenesDocument",
    "ScriptDocument",
    "StoryboardDocument",
    "SubtitleQcReport",
    "TimedLine",
    "Timeline",
    "TimelineDocument",
    "TimelineRef",
    "TimingReport",
    "TitleContent",
    "TitleDocument",
    "TranslatedLine",
    "TranslationDocument",
    "VersionRef",
    "VoiceCast",
    "level_content",
    "part_document",
]


class _Document(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- the writer's parts -------------------------------------------------------------------


class TitleContent(_Document):
    title: str


class LineSelection(_Document):
    """A person chose one of the model's candidates for a line."""

    line_id: str
    candidate: int
    by: str


class LevelDocument(_Document, Generic[C]):
    """One part of a script as the writer stores it (`script-<job>-<part>`)."""

    level: str = Field(description="The part's name within its script: title, characters, dialogue-s1, storyboard-s1, script …")
    script_id: str
    content: C
    acts: list[Act] | None = Field(None, description="The scenes level: the outline by acts")
    selected: LineSelection | None = None
    reverted_from: int | None = None


TitleDocument = LevelDocument[TitleContent]
CharactersDocument = LevelDocument[list[Character]]
ScenesDocument = LevelDocument[list[SceneScript]]
PlacesDocument = LevelDocument[list[Place]]
DialogueDocument = LevelDocument[list[DialogueLine]]
StoryboardDocument = LevelDocument[Storyboard]
RewriteDocument = LevelDocument[DialogueRewrite]
ScriptDocument = LevelDocument[Script]


_PART_DOCUMENTS: dict[ScriptPart, type[LevelDocument[Any]]] = {
    ScriptPart.TITLE: TitleDocument,
    ScriptPart.CHARACTERS: CharactersDocument,
    ScriptPart.SCENES: ScenesDocument,
    ScriptPart.PLACES: PlacesDocument,
    ScriptPart.SCRIPT: ScriptDocument,
    ScriptPart.DIALOGUE: DialogueDocument,
    ScriptPart.STORYBOARD: StoryboardDocument,
}


def part_document(part: ScriptAssetId) -> type[LevelDocument[Any]] | None:
    """The document model of one part of a script (None: the Fountain text, not JSON)."""
    if part.rewrite_job is not None:
        return RewriteDocument
    return _PART_DOCUMENTS.get(part.part)


_LEVEL_CONTENT: dict[ScriptLevel, Any] = {
    ScriptLevel.TITLE: TitleContent,
    ScriptLevel.CHARACTERS: list[Character],
    ScriptLevel.SCENES: list[SceneScript],
    ScriptLevel.PLACES: list[Place],
    ScriptLevel.DIALOGUE: list[DialogueLine],
}


@cache
def level_content(level: ScriptLevel | str) -> TypeAdapter[Any]:
    """What one level's content is (a person's rewrite of it is checked against this)."""
    return TypeAdapter(_LEVEL_CONTENT[ScriptLevel(level)])


# --- localization ---------------------------------------------------------------------------


class VersionRef(_Document):
    """One stored version of an asset."""

    model_config = ConfigDict(frozen=True)
    asset_id: str
    version: int

    def __str__(self) -> str:
        return f"{self.asset_id}@v{self.version}"


class TimedLine(_Document):
    model_config = ConfigDict(frozen=True)
    line_id: str
    scene_id: str
    speaker: str
    text: str
    start: float
    end: float


class Timeline(_Document):
    """The production's timeline: when each line of dialogue is spoken. From the studio's
    timed dialogue list, or laid out by Helix's source-language voice-over."""

    source: Literal["studio", "synthesized"]
    asset_id: str = Field(description="The studio's timed source, or the timeline asset Helix stored")
    lines: list[TimedLine]


class TimelineRef(_Document):
    source: Literal["studio", "synthesized"]
    asset_id: str


class TimelineDocument(_Document):
    timeline: Timeline
    assets: list[str] = Field(default_factory=list, description="What the timeline job stored: the source voice-over, the timeline")


class MarketChange(_Document):
    kind: str
    source: str = ""
    target: str = ""


class TranslatedLine(_Document):
    line_id: str
    scene_id: str
    speaker: str
    source: str
    adapted: str
    target: str
    author: Literal["ai", "human"] = "ai"
    method: str = "plain"
    locked: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    market_changes: list[dict[str, str]] = Field(default_factory=list)
    avoided: list[str] = Field(default_factory=list)


class MarketProfileDocument(_Document):
    locale: str
    formality: str = "default"
    measurement: str = "metric"
    avoid: list[str] = Field(default_factory=list)


class TranslationDocument(_Document):
    locale: str
    source_locale: str
    script: str = Field(description="The assembled script asset translated")
    profile: MarketProfileDocument
    timeline: TimelineRef
    lines: list[TranslatedLine]


class QcBreach(_Document):
    rule: str
    event: int
    message: str


class QcFix(_Document):
    rule: str
    line_id: str
    detail: str


class SubtitleQcReport(_Document):
    language: str
    audience: str
    frame_rate: str
    rules: dict[str, Any] = Field(default_factory=dict)
    checks: list[str] = Field(default_factory=list)
    events: int
    passed: bool
    breaches: list[QcBreach] = Field(default_factory=list)
    fixes: list[QcFix] = Field(default_factory=list)


class FittedLine(_Document):
    line_id: str
    speaker: str
    text: str
    slot_start: float
    slot_end: float
    start: float
    end: float
    rate: float = 1.0
    stretch: float = 1.0
    overshoot_ms: float = 0.0
    method: str = "natural"


class VoiceCast(_Document):
    model: ModelRef
    speakers: dict[str, int] = Field(default_factory=dict, description="Character -> the voice's speaker id")
    voices: dict[str, SpokenVoice] = Field(default_factory=dict, description="Character -> the model, speaker and performer that spoke them")


class TimingReport(_Document):
    """How a dubbed track fits the timeline, line by line, and which lines it speaks in a
    shorter adaptation (each beside the line it replaces)."""

    locale: str
    timeline: TimelineRef
    voice: VoiceCast
    loudness_lufs: float
    target_lufs: float
    sample_rate: int
    seconds: float
    rate_cap: float
    lines: list[FittedLine]
    changes: list[LineChange] = Field(default_factory=list)


class AnimaticCut(_Document):
    """One shot on screen from `start` to `end` seconds: its approved clip where it has one (the
    clip's last picture held if the shot runs longer), else its frame, held."""

    model_config = ConfigDict(frozen=True)
    scene_id: str
    shot_id: str
    frame: VersionRef
    start: float
    end: float
    clip: VersionRef | None = None


class AnimaticPlan(_Document):
    """What an animatic is cut from: every approved version it uses and where each shot sits."""

    production_id: str
    localization_job: str
    locale: str
    script: VersionRef
    source_locale: str
    cuts: list[AnimaticCut]
    dub: VersionRef
    subtitles: VersionRef | None = None
    source_voice: VersionRef | None = None
    duration: float
    off_timeline: list[str] = Field(default_factory=list, description="Scenes with no dialogue on the timeline")

    def sources(self) -> list[VersionRef]:
        return [self.script, *(c.frame for c in self.cuts), *(c.clip for c in self.cuts if c.clip), self.dub,
                *(s for s in (self.subtitles, self.source_voice) if s)]


DOCUMENT_MODELS: tuple[type[BaseModel], ...] = (
    TitleDocument, CharactersDocument, ScenesDocument, PlacesDocument, DialogueDocument, StoryboardDocument, RewriteDocument,
    ScriptDocument, TimelineDocument, TranslationDocument, SubtitleQcReport, TimingReport, AnimaticPlan,
)
