"""Versioned `data` models of every Helix event type (schema version 1).

Rules that keep these contracts safe to evolve:
- a model may gain optional fields within a version; consumers ignore fields they do not
  know (`extra="ignore"`), so older services keep working;
- removing or retyping a field is a new schema version (and a new `.vN` topic).
Strings and lists are bounded so a malformed or hostile message cannot balloon memory.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from helix.events.topics import Topic

__all__ = [
    "AssetKind",
    "Authorship",
    "Actor",
    "ModelRef",
    "EventData",
    "GenerationRequest",
    "ScriptLevel",
    "ScriptRequested",
    "DialogueRewriteRequested",
    "ScriptEditRequested",
    "DialogueEdited",
    "EditedLine",
    "CandidateApplied",
    "ScriptLevelRewritten",
    "StoryboardRequested",
    "ImageRequest",
    "FrameRequested",
    "ClipRequested",
    "SceneRequested",
    "TextureRequested",
    "Deliverable",
    "LocalizeRequested",
    "AnimaticRequested",
    "AssetGenerated",
    "ReviewDecision",
    "ReviewApproved",
    "ReviewRejected",
    "ReviewRevisionRequested",
    "ScriptRevisionRequested",
    "ImageRevisionRequested",
    "FramesRedrawRequested",
    "ReferenceSheetRequested",
    "ReferenceUploaded",
    "StagedUpload",
    "UPLOAD_MEDIA_TYPES",
    "UPLOAD_KEY_PATTERN",
    "ReferenceSummary",
    "ReferenceView",
    "CHARACTER_VIEWS",
    "DecisionRef",
    "AssetSummary",
    "ClipSummary",
    "TIMED_KINDS",
    "TimeNote",
    "TranslationSummary",
    "SubtitlesSummary",
    "SubtitleQcSummary",
    "SpokenVoice",
    "VoiceoverSummary",
    "TimingSummary",
    "LineChange",
    "HeardLine",
    "ListeningSummary",
    "AnimaticSummary",
    "FrameSummary",
    "UsedVersion",
    "ScriptPartSummary",
    "DecisionOutcome",
    "JobStatus",
    "JobAccepted",
    "JobProgress",
    "JobFailed",
    "JobCompleted",
    "Id",
    "ID_CHARS",
    "ID_PATTERN",
    "AssetCost",
    "Region",
]

# The one definition of a Helix id (productions, jobs, assets, decisions): safe in asset
# keys, URLs and Kafka keys; starts alphanumeric, so never '.' or '..'.
ID_CHARS = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
ID_PATTERN = rf"^{ID_CHARS}$"
ID_MAX_LENGTH = 128
_ID = re.compile(ID_PATTERN)


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError("ids are 1-128 characters of letters, digits, '.', '_' or '-', starting alphanumeric")
    return value


Id = Annotated[str, AfterValidator(_check_id)]
ShortText = Annotated[str, Field(max_length=500)]
LongText = Annotated[str, Field(max_length=20_000)]


def _known_locale(value: str) -> str:
    """A BCP 47 tag CLDR knows (what every service formats, segments and voices by)."""
    from babel import Locale as Cldr
    from babel import UnknownLocaleError

    try:
        Cldr.parse(value, sep="-")
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"{value!r} is not a locale CLDR knows (e.g. de-DE, es-ES, ja-JP, pt-BR)") from None
    return value


Locale = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description="BCP 47 tag CLDR knows, e.g. de-DE"),
                   AfterValidator(_known_locale)]


class AssetKind(StrEnum):
    SCRIPT = "script"
    DIALOGUE = "dialogue"
    STORYBOARD = "storyboard"
    FRAME = "frame"
    SCENE = "scene"
    TEXTURE = "texture"
    SUBTITLES = "subtitles"
    VOICEOVER = "voiceover"
    ANIMATIC = "animatic"
    REFERENCE = "reference"  # a view of a character or place on its reference sheet: what frames keep the cast by
    CLIP = "clip"  # a shot in motion: an image-to-video clip from its approved frame, what the animatic moves with


SubtitleFormat = Literal["srt", "vtt", "ttml"]  # the subtitle files a localization writes


class Authorship(StrEnum):
    AI = "ai"
    HUMAN = "human"
    MIXED = "mixed"


class Actor(BaseModel):
    """Who asked for or did something: a person or a system account."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["user", "service"] = "user"
    roles: list[Annotated[str, Field(max_length=50)]] = Field(default_factory=list, max_length=10)


class ModelRef(BaseModel):
    """A model as loaded: Hugging Face id or path, and the exact revision."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: Annotated[str, Field(min_length=1, max_length=300)]
    revision: Annotated[str, Field(min_length=1, max_length=100)]


DecisionOutcome = Literal["approved", "rejected", "revision_requested"]


class DecisionRef(BaseModel):
    """The review decision a request answers (choreography): why a job ran. Carried by the
    request, the job's `accepted` event and the provenance of everything the job stores."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    decision_id: Id
    event_id: Annotated[str, Field(min_length=1, max_length=200, description="The decision's CloudEvent id")]
    asset_id: Id
    asset_version: int = Field(1, ge=1)
    outcome: DecisionOutcome


class EventData(BaseModel):
    """Base of every event's `data`. Subclasses set the CloudEvents type and topic."""

    model_config = ConfigDict(extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[Topic]
    schema_version: ClassVar[int] = 1

    production_id: Id

    @classmethod
    def schema_uri(cls) -> str:
        return f"urn:helix:schema:{cls.event_type}:{cls.schema_version}"


# --- requests --------------------------------------------------------------------------


class GenerationRequest(EventData):
    """Fields every generation request carries."""

    job_id: Id
    requested_by: Actor
    notes: LongText | None = Field(None, description="A person's instructions, e.g. a reviewer's revision notes")
    parent_asset_ids: list[Id] = Field(default_factory=list, max_length=50)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    caused_by: DecisionRef | None = Field(None, description="The review decision this request reacts to (a service's own request)")


class ScriptLevel(StrEnum):
    """Levels of hierarchical story generation, top to bottom."""

    TITLE = "title"
    CHARACTERS = "characters"
    SCENES = "scenes"
    PLACES = "places"
    DIALOGUE = "dialogue"


class ScriptRequested(GenerationRequest):
    event_type: ClassVar[str] = "helix.writer.script.requested"
    topic: ClassVar[Topic] = Topic.WRITER_REQUESTS

    logline: Annotated[str, Field(min_length=1, max_length=2_000)]
    style: ShortText | None = None
    target_locales: list[Locale] = Field(default_factory=list, max_length=50)
    performers: list[ShortText] = Field(default_factory=list, max_length=100)
    from_level: ScriptLevel = Field(ScriptLevel.TITLE, description="Regenerate this level and those below it "
                                    "(below title: of the script named first in parent_asset_ids)")
    max_scenes: int = Field(8, ge=1, le=60)
    locale: Locale = Field("en", description="The language the script is written in (the production's source locale)")
    prefix_set: ShortText | None = Field(None, description="A named set of the studio's example scripts, given to the model as examples")


class ScriptLevelRewritten(GenerationRequest):
    """A person's own version of one level of a script: stored verbatim as human-authored,
    then the levels below it are regenerated from it."""

    event_type: ClassVar[str] = "helix.writer.level.rewritten"
    topic: ClassVar[Topic] = Topic.WRITER_REQUESTS

    script_id: Id
    level: Literal["title", "characters", "scenes", "places"]
    content: Any = Field(description="The level's JSON as the person wrote it (the shape of the writer's level asset): "
                         "title {title}; characters [{name, description, voice_notes}]; scenes [{scene_id, place, plot_element, "
                         "beat, act}]; places [{name, description}]")

    @model_validator(mode="after")
    def _content_fits_its_level(self) -> ScriptLevelRewritten:
        from helix.documents import level_content  # the stored documents' models (they build on these events)

        try:
            level_content(self.level).validate_python(self.content)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "content"
            raise ValueError(f"content is not a {self.level} level ({exc.error_count()} problems; {where}: {first['msg']})") from None
        return self


class ScriptEditRequested(GenerationRequest):
    """Dramatron's operations on one level of a script: regenerate it (alone, or with the
    levels below it), continue it (more characters, scenes, or lines in a scene), or revert
    it to an earlier version. What a person wrote below a regenerated level is kept and
    marked possibly stale, unless `regenerate_human` asks for it to be regenerated too."""

    event_type: ClassVar[str] = "helix.writer.script.edit.requested"
    topic: ClassVar[Topic] = Topic.WRITER_REQUESTS

    script_id: Id
    operation: Literal["regenerate", "continue", "revert"]
    level: ScriptLevel
    scene_id: Id | None = Field(None, description="Dialogue: the scene (regenerate, continue or revert its dialogue)")
    cascade: bool = Field(False, description="Regenerate: the levels below too")
    regenerate_human: bool = Field(False, description="Regenerate: also what a person wrote below (else kept, marked stale)")
    count: int | None = Field(None, ge=1, le=30, description="Continue: how many more characters, scenes or lines")
    version: int | None = Field(None, ge=1, description="Revert: the version to bring back (default: the one before the latest)")


class EditedLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    line_id: Id | None = None
    speaker: Annotated[str, Field(min_length=1, max_length=24)]
    parenthetical: Annotated[str, Field(max_length=30)] = ""
    text: Annotated[str, Field(min_length=1, max_length=500)]


class DialogueEdited(GenerationRequest):
    """A person's own dialogue for one scene, line by line: stored verbatim, human-authored."""

    event_type: ClassVar[str] = "helix.writer.dialogue.edited"
    topic: ClassVar[Topic] = Topic.WRITER_REQUESTS

    script_id: Id
    scene_id: Id
    lines: list[EditedLine] = Field(min_length=1, max_length=60)


class CandidateApplied(GenerationRequest):
    """A person chose one of the writer's candidates for a line: the scene's dialogue gets a
    new version with it (selected by the person, written by the model)."""

    event_type: ClassVar[str] = "helix.writer.candidate.applied"
    topic: ClassVar[Topic] = Topic.WRITER_REQUESTS

    rewrite_asset_id: Id
    line_id: Id
    candidate: int = Field(ge=0, le=7, description="0-based index among the line's candidates")


class DialogueRewriteRequested(GenerationRequest):
    event_type: ClassVar[str] = "helix.writer.dialogue.rewrite.requested"
    topic: ClassVar[Topic] = Topic.WRITER_REQUESTS

    dialogue_asset_id: Id
    line_ids: list[Id] = Field(default_factory=list, max_length=500, description="Empty: every line of the scene")
    tone: ShortText | None = None
    target_syllables: int | None = Field(None, ge=1, le=500)
    target_seconds: float | None = Field(None, gt=0, le=600)
    market: Locale | None = None
    candidates: int = Field(3, ge=1, le=8)


class StoryboardRequested(GenerationRequest):
    event_type: ClassVar[str] = "helix.writer.storyboard.requested"
    topic: ClassVar[Topic] = Topic.WRITER_REQUESTS

    script_asset_id: Id
    scene_ids: list[Id] = Field(default_factory=list, max_length=500, description="Empty: every scene")


class ReferenceView(StrEnum):
    """The views of a reference sheet: a character's turnaround and expressions, a place's establishing view."""

    FRONT = "front"
    THREE_QUARTER = "three_quarter"
    PROFILE = "profile"
    EXPRESSIONS = "expressions"
    ESTABLISHING = "establishing"


CHARACTER_VIEWS = (ReferenceView.FRONT, ReferenceView.THREE_QUARTER, ReferenceView.PROFILE, ReferenceView.EXPRESSIONS)


class TimeNote(BaseModel):
    """A moment (no end) or a range of an animatic, clip or recording a reviewer marked, in
    seconds from its start, with what to change there."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    start_s: float = Field(ge=0, le=86_400)
    end_s: float | None = Field(None, ge=0, le=86_400)
    note: Annotated[str, Field(min_length=1, max_length=2_000)]

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> TimeNote:
        if self.end_s is not None and self.end_s < self.start_s:
            raise ValueError("a range ends at or after it starts (end_s >= start_s)")
        return self

    def label(self) -> str:
        """`0:01.5` or `0:01.5–0:02.0`: how a timeline, a prompt or a marker shows it."""
        return _clock(self.start_s) + (f"–{_clock(self.end_s)}" if self.end_s is not None else "")


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


# The kinds a reviewer's time notes apply to: what plays over time.
TIMED_KINDS = frozenset({AssetKind.ANIMATIC, AssetKind.CLIP, AssetKind.VOICEOVER})


class UsedVersion(BaseModel):
    """One version of an asset a generated asset was made from."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    asset_id: Id
    version: int = Field(ge=1)


class ImageRequest(GenerationRequest):
    prompt: Annotated[str, Field(min_length=1, max_length=4_000)]
    negative_prompt: Annotated[str, Field(max_length=4_000)] | None = None
    width: int = Field(512, ge=64, le=4096, multiple_of=8)
    height: int = Field(512, ge=64, le=4096, multiple_of=8)
    steps: int = Field(4, ge=1, le=200)
    guidance_scale: float = Field(0.0, ge=0, le=50)
    shot_id: Id | None = None
    model: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")] | None = Field(
        None, description="Which of the visual service's configured models (its names, e.g. 'default'); none: the default")
    style: ShortText | None = Field(None, description="The production's look, added to every prompt of the request")


class FrameRequested(ImageRequest):
    """A storyboard frame: from a prompt, or from a shot of a storyboard asset (every shot of
    it when `shot_id` is empty), with the production's style."""

    event_type: ClassVar[str] = "helix.visual.frame.requested"
    topic: ClassVar[Topic] = Topic.VISUAL_REQUESTS

    storyboard_asset_id: Id | None = Field(None, description="A writer storyboard: its shots become the frames' prompts")
    reference_asset_id: Id | None = Field(None, description="An image asset the frames start from (img2img), for a consistent look")
    strength: float = Field(0.6, gt=0, le=1, description="With a reference image: how far the frame may move away from it")
    cast: bool = Field(False, description="Keep the production's approved cast: each character in a shot conditions on the newest "
                                          "approved front view of their reference sheet, masked to where they stand, and the shot's "
                                          "place on its establishing view (character_references name others)")
    character_references: dict[Annotated[str, Field(min_length=1, max_length=24)], Id] = Field(
        default_factory=dict, max_length=8,
        description="Character name -> an image asset of them (its approved version is used): each frame with the character "
                    "conditions on it (the model's IP-Adapter), masked to where they stand when two share the frame")

    character_loras: dict[Annotated[str, Field(min_length=1, max_length=24)],
                          Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}$")]] = Field(
        default_factory=dict, max_length=8,
        description="Character -> a LoRA of them the visual service has (HELIX_VISUAL_LORAS, by name): each frame with the character "
                    "draws with it (over the whole frame)")

    @model_validator(mode="after")
    def _references_need_shots(self) -> FrameRequested:
        if (self.character_references or self.cast or self.character_loras) and not self.storyboard_asset_id:
            raise ValueError("character_references, character_loras and cast need a storyboard_asset_id: its shots say who is in "
                             "each frame, and where")
        return self


class ClipRequested(GenerationRequest):
    """Motion for a shot: an image-to-video clip that starts from the shot's approved frame and
    runs for the shot's length, its camera move and action (from the storyboard) in the prompt."""

    event_type: ClassVar[str] = "helix.visual.clip.requested"
    topic: ClassVar[Topic] = Topic.VISUAL_REQUESTS

    frame_asset_id: Id | None = Field(None, description="A storyboard frame: the clip starts from its newest approved version")
    frame_version: int | None = Field(None, ge=1, description="That version, when the request must be for it (it must be the newest "
                                                             "approved one: a clip never moves a frame that was replaced)")
    revises: UsedVersion | None = Field(None, description="A clip a reviewer sent back: a new version of it, from its frame's newest "
                                                          "approved version, `prompt` (the reviewer's notes) added")
    prompt: Annotated[str, Field(max_length=4_000)] = Field("", description="Added to the shot's camera move and action")
    seconds: float | None = Field(None, gt=0, le=30, description="The clip's length; default: the shot's duration on the storyboard")
    fps: int = Field(8, ge=1, le=60, description="Frames per second of the clip")
    width: int = Field(256, ge=64, le=2048, multiple_of=32)
    height: int = Field(160, ge=64, le=2048, multiple_of=32)
    steps: int = Field(4, ge=1, le=100)
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Default: one derived from the frame, so the same frame moves the same way")
    timecodes: list[TimeNote] = Field(default_factory=list, max_length=50,
                                      description="A revision: the moments of the clip the reviewer's notes are about")

    @model_validator(mode="after")
    def _one_source(self) -> ClipRequested:
        if (self.frame_asset_id is None) == (self.revises is None):
            raise ValueError("a clip starts from a frame (frame_asset_id) or revises a clip (revises), one of the two")
        return self


class ReferenceSheetRequested(ImageRequest):
    """Reference sheets for a production's cast, from its approved script: for each character a
    turnaround (front, three-quarter, profile) and an expressions view, for each place an
    establishing view; every view an asset reviewed like any other. Approved, they are the cast
    frames keep (`FrameRequested.cast`)."""

    event_type: ClassVar[str] = "helix.visual.reference_sheet.requested"
    topic: ClassVar[Topic] = Topic.VISUAL_REQUESTS

    prompt: Annotated[str, Field(max_length=4_000)] = Field("", description="Added to every view's prompt")
    script_asset_id: Id = Field(description="The script whose approved characters and places are drawn")
    characters: list[Annotated[str, Field(min_length=1, max_length=24)]] = Field(
        default_factory=list, max_length=50, description="Only these characters; empty: every character (and `places` decides places)")
    places: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(default_factory=list, max_length=50,
                                                                             description="Only these places; empty: every place")
    views: list[ReferenceView] = Field(default_factory=lambda: list(CHARACTER_VIEWS), min_length=1, max_length=5,
                                       description="A character's views; a place has its establishing view")


# What a person may upload as a view of the cast, and where the gateway stages it until the
# visual service keeps it (`helix.assets.keys.UploadKey` builds and parses these keys).
UPLOAD_MEDIA_TYPES: dict[str, str] = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
UPLOAD_KEY_PATTERN = rf"^uploads/(?P<production>{ID_CHARS})/(?P<upload>{ID_CHARS})\.(?P<ext>png|jpg|webp)$"


class StagedUpload(BaseModel):
    """Bytes a person uploaded, staged in the asset store (a claim check: the bus carries this,
    not the bytes) until the service that owns them keeps them as an asset."""

    model_config = ConfigDict(frozen=True)
    key: Annotated[str, Field(pattern=UPLOAD_KEY_PATTERN, max_length=400)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: int = Field(ge=1)
    media_type: Literal["image/png", "image/jpeg", "image/webp"]
    filename: Annotated[str, Field(max_length=255)] | None = Field(None, description="The name the person's file had")


class ReferenceUploaded(GenerationRequest):
    """A person's own view of a character or place (a drawing, a photo of the actor in costume,
    a location scout's still) in place of a generated one: kept verbatim as a human-authored
    `reference` asset, reviewed like any other; approved, frames keep it as they keep a sheet's."""

    event_type: ClassVar[str] = "helix.visual.reference.uploaded"
    topic: ClassVar[Topic] = Topic.VISUAL_REQUESTS

    script_asset_id: Id = Field(description="The approved script that names the subject")
    subject: Annotated[str, Field(min_length=1, max_length=80)] = Field(description="A character or place of that script")
    view: ReferenceView = Field(description="Which view this is; `establishing` for a place")
    upload: StagedUpload

    @property
    def subject_kind(self) -> Literal["character", "place"]:
        return "place" if self.view is ReferenceView.ESTABLISHING else "character"


class SceneRequested(ImageRequest):
    event_type: ClassVar[str] = "helix.visual.scene.requested"
    topic: ClassVar[Topic] = Topic.VISUAL_REQUESTS

    place: Annotated[str, Field(min_length=1, max_length=80)] | None = Field(
        None, description="A place of the production's cast: the plate conditions on its approved establishing view (the model's IP-Adapter)")


class TextureRequested(ImageRequest):
    event_type: ClassVar[str] = "helix.visual.texture.requested"
    topic: ClassVar[Topic] = Topic.VISUAL_REQUESTS

    tileable: bool = True
    tile_axes: Literal["x", "y", "xy"] | None = Field(None, description="Which way it tiles; default: both when tileable")

    def axes(self) -> Literal["none", "x", "y", "xy"]:
        if not self.tileable:
            return "none"
        return self.tile_axes or "xy"


class Deliverable(StrEnum):
    TRANSLATION = "translation"
    SUBTITLES = "subtitles"
    VOICEOVER = "voiceover"


class LocalizeRequested(GenerationRequest):
    event_type: ClassVar[str] = "helix.localize.requested"
    topic: ClassVar[Topic] = Topic.LOCALIZE_REQUESTS

    source_asset_id: Id
    source_locale: Locale = "en"
    target_locales: list[Locale] = Field(min_length=1, max_length=50)
    deliverables: list[Deliverable] = Field(default_factory=lambda: [Deliverable.SUBTITLES], min_length=1, max_length=3)
    subtitle_format: Literal["srt", "vtt"] = "vtt"
    formats: list[SubtitleFormat] | None = Field(
        None, min_length=1, max_length=3, description="Subtitle files to deliver; default: [subtitle_format]")
    frame_rate: float | None = Field(None, gt=0, le=120, description="Frames per second of the picture (23.976 = 24000/1001); default 23.976")
    audience: Literal["adult", "children"] = Field("adult", description="Reading speeds for adults or children")
    timed_source_asset_id: Id | None = Field(
        None, description="A timed dialogue list (SRT/WebVTT/TTML asset) for the script; none: Helix's source-language voice-over is the timeline")
    glossary: list[ShortText] = Field(default_factory=list, max_length=500,
                                      description="Terms never translated (besides the script's character and place names)")

    def subtitle_formats(self) -> list[SubtitleFormat]:
        return list(dict.fromkeys(self.formats or [self.subtitle_format]))


class AnimaticRequested(GenerationRequest):
    """An animatic for one locale of a localization: the approved storyboard frames of its
    script, each held for its shot's share of the scene on the localization's timeline, with
    that locale's approved dubbed track and subtitles (and the source voice-over as a second
    audio track where Helix synthesized it). Sent by the localize service itself once
    everything it needs is approved; a studio may ask again (e.g. at another size)."""

    event_type: ClassVar[str] = "helix.localize.animatic.requested"
    topic: ClassVar[Topic] = Topic.LOCALIZE_REQUESTS

    localization_job_id: Id = Field(description="The localization job whose timeline and tracks the animatic follows")
    locale: Locale = Field(description="The target locale: its dubbed track and subtitles")
    width: int = Field(640, ge=64, le=3840, multiple_of=8)
    height: int = Field(360, ge=64, le=2160, multiple_of=8)
    frame_rate: float = Field(24.0, gt=0, le=120)


# --- assets ----------------------------------------------------------------------------


class AssetCost(BaseModel):
    """Machine time spent making one asset: what the cost ledger adds up."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    model_seconds: float = Field(0.0, ge=0, description="Wall time the asset's generations spent in the model")
    gpu_seconds: float = Field(0.0, ge=0, description="Its share of GPU time (0 on a CPU)")
    device: Annotated[str, Field(max_length=100)] = "cpu"


class SubtitleQcSummary(BaseModel):
    """The subtitle quality check in one line: whether it passed, how many breaches of which rules."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    passed: bool
    breaches: int = Field(0, ge=0)
    rules: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=100)
    fixes: int = Field(0, ge=0)


class TimingSummary(BaseModel):
    """How a dubbed track fits its timeline."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    lines: int = Field(0, ge=0)
    overshoots: int = Field(0, ge=0, description="Lines that still run past their slot (faded out at the limit)")
    max_overshoot_ms: float = Field(0.0, ge=0)
    max_speedup: float = Field(1.0, ge=0)
    shortened: int = Field(0, ge=0, description="Lines spoken in a shorter adaptation")
    loudness_lufs: float | None = None


class LineChange(BaseModel):
    """A line a deliverable speaks or shows differently from its source, beside the one it replaces."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    line_id: Id
    original: Annotated[str, Field(max_length=2_000)]
    replacement: Annotated[str, Field(max_length=2_000)]
    reason: ShortText = ""
    by: ModelRef | None = Field(None, description="The model that wrote the replacement")


class TranslationSummary(BaseModel):
    kind: Literal["translation"] = "translation"
    model_config = ConfigDict(extra="ignore", frozen=True)
    locale: Locale
    lines: int = Field(0, ge=0)
    locked_terms: int = Field(0, ge=0)
    locked_terms_missing: int = Field(0, ge=0, description="Names, places and glossary terms lost in translation")
    avoided_terms: int = Field(0, ge=0, description="Terms the market's profile avoids")
    market_changes: int = Field(0, ge=0)


class SubtitlesSummary(BaseModel):
    kind: Literal["subtitles"] = "subtitles"
    model_config = ConfigDict(extra="ignore", frozen=True)
    locale: Locale
    format: Literal["srt", "vtt", "ttml", "qc"]
    events: int = Field(0, ge=0)
    qc: SubtitleQcSummary


class HeardLine(BaseModel):
    """A voiced line as speech recognition heard it, beside the text it should say."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    line_id: Id
    text: Annotated[str, Field(max_length=2_000)]
    transcript: Annotated[str, Field(max_length=2_000)]
    wer: float = Field(ge=0, description="Word error rate of the transcript against the text (normalised: case, punctuation)")
    cer: float = Field(ge=0, description="Character error rate, likewise")
    start: float = Field(ge=0, description="Where the line's audio starts on the track, seconds")
    end: float = Field(ge=0)


class ListeningSummary(BaseModel):
    """The dub QC that listens: every line transcribed back and compared with its text."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    model: ModelRef
    lines: int = Field(0, ge=0)
    median_wer: float = Field(0.0, ge=0)
    wer_limit: float = Field(ge=0, description="Lines above it are flagged")
    flagged: list[HeardLine] = Field(default_factory=list, max_length=500, description="The lines over the limit, worst first")
    seconds: float = Field(0.0, ge=0, description="Time spent listening")


class SpokenVoice(BaseModel):
    """What a job spoke a character with (`helix.casting`): a voice model's speaker, and the
    performer and the consent it relied on where the voice is a real person's."""

    model_config = ConfigDict(frozen=True)
    model: Annotated[str, Field(max_length=300)]
    speaker: int = Field(ge=0)
    performer: Annotated[str, Field(max_length=200)] | None = None
    consent: Annotated[str, Field(max_length=64)] | None = Field(None, description="The consent for 'voice' relied on, with a performer's voice")


class VoiceoverSummary(BaseModel):
    kind: Literal["voiceover"] = "voiceover"
    model_config = ConfigDict(extra="ignore", frozen=True)
    locale: Locale
    role: Literal["dub", "source"] = "dub"
    timing: TimingSummary | None = None
    changes: list[LineChange] = Field(default_factory=list, max_length=1_000,
                                      description="Lines spoken in a shorter adaptation, each beside the line it replaces")
    listening: ListeningSummary | None = Field(None, description="What speech recognition heard of each line (None: not listened to)")
    voices: dict[Annotated[str, Field(max_length=24)], SpokenVoice] = Field(default_factory=dict, max_length=500,
                                                                          description="Character -> the voice that spoke them")


class AnimaticSummary(BaseModel):
    kind: Literal["animatic"] = "animatic"
    model_config = ConfigDict(extra="ignore", frozen=True)
    locale: Locale
    shots: int = Field(0, ge=0)
    seconds: float = Field(0.0, ge=0)
    subtitles_asset_id: Id | None = Field(None, description="The subtitles it carries (players show them as a text track)")
    subtitles_version: int | None = Field(None, ge=1)
    moving_shots: int = Field(0, ge=0, description="Shots that move (an approved clip); the others hold their frame")


class ScriptPartSummary(BaseModel):
    """One part of a script (a level, a scene's dialogue or storyboard, the assembled script)."""

    kind: Literal["script_part"] = "script_part"
    model_config = ConfigDict(extra="ignore", frozen=True)
    part: Annotated[str, Field(max_length=64)]
    level: ScriptLevel | None = None


class ReferenceSummary(BaseModel):
    """One view on a reference sheet: whose, of which kind, which view."""

    kind: Literal["reference"] = "reference"
    model_config = ConfigDict(extra="ignore", frozen=True)
    subject: Annotated[str, Field(min_length=1, max_length=80)]
    subject_kind: Literal["character", "place"]
    view: ReferenceView


class FrameSummary(BaseModel):
    """A storyboard frame: the shot it draws, how its layout was set, the references it kept."""

    kind: Literal["frame"] = "frame"
    model_config = ConfigDict(extra="ignore", frozen=True)
    shot_id: Id | None = None
    layout: Literal["director", "subjects"] | None = Field(None, description="Conditioned on the director's blocking, or the subjects "
                                                                             "spread across the frame; None: not conditioned on a layout")
    references: dict[Annotated[str, Field(min_length=1, max_length=24)], UsedVersion] = Field(
        default_factory=dict, max_length=8, description="Character -> the approved reference version the frame was drawn with")
    place: UsedVersion | None = Field(None, description="The approved reference of the shot's place (its establishing view) the frame "
                                                        "was drawn with, over the whole frame")

    def used(self) -> dict[str, UsedVersion]:
        """Every reference the frame was drawn with: its characters' by name, its place's as 'the place'."""
        return {**self.references, **({"the place": self.place} if self.place else {})}

    def stale(self, approved: dict[str, int]) -> list[str]:
        """Why the frame is out of date, given each asset's newest approved version: a reference
        it used has a newer approved version."""
        return [f"{name}'s reference {used.asset_id} has v{approved[used.asset_id]} approved; this frame used v{used.version}"
                for name, used in sorted(self.used().items()) if approved.get(used.asset_id, 0) > used.version]


class ClipSummary(BaseModel):
    """A shot in motion: which shot, from which approved frame version, how long."""

    kind: Literal["clip"] = "clip"
    model_config = ConfigDict(extra="ignore", frozen=True)
    shot_id: Id
    frame_asset_id: Id
    frame_version: int = Field(ge=1)
    seconds: float = Field(ge=0)
    fps: float = Field(gt=0)
    frames: int = Field(ge=1)


AssetSummary = Annotated[TranslationSummary | SubtitlesSummary | VoiceoverSummary | AnimaticSummary | ScriptPartSummary | FrameSummary | ClipSummary
                         | ReferenceSummary, Field(discriminator="kind")]


class _LegacyParameters(BaseModel):
    """The figures localize wrote into `parameters` before asset summaries were typed."""

    model_config = ConfigDict(extra="ignore")
    locale: Locale | None = None
    format: Literal["srt", "vtt", "ttml", "qc"] | None = None
    events: int | None = None
    qc: SubtitleQcSummary | None = None
    timing: TimingSummary | None = None
    locked_terms_missing: int | None = None
    avoided_terms: int | None = None


class AssetGenerated(EventData):
    """A generated asset, durable in the asset store, with everything needed to trust it."""

    event_type: ClassVar[str] = "helix.asset.generated"
    topic: ClassVar[Topic] = Topic.ASSETS_GENERATED

    asset_id: Id
    job_id: Id | None = None
    kind: AssetKind
    version: int = Field(1, ge=1)
    object_key: Annotated[str, Field(min_length=1, max_length=1024)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size_bytes: int = Field(ge=0)
    media_type: Annotated[str, Field(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=200)]
    model: ModelRef | None = Field(None, description="None only for human-made assets")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Prompt and inputs, as the model saw them")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Generation parameters (steps, temperature…)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    parent_asset_ids: list[Id] = Field(default_factory=list, max_length=100)
    authorship: Authorship = Authorship.AI
    generated_by: Actor
    generated_at: AwareDatetime
    requested_by: Actor | None = Field(None, description="Who asked for the generation: they may not approve it")
    cost: AssetCost | None = Field(None, description="Model and GPU time that made this version")
    revises_version: int | None = Field(None, ge=1, description="This version revises that earlier version of the same asset")
    summary: AssetSummary | None = Field(None, description="What review and the gateway read of this asset, typed per kind")
    caused_by: DecisionRef | None = Field(None, description="The review decision the job that made it reacted to")

    def typed_summary(self) -> (TranslationSummary | SubtitlesSummary | VoiceoverSummary | AnimaticSummary | ScriptPartSummary
                                | FrameSummary | ClipSummary | ReferenceSummary | None):
        """What review and the gateway read of this asset: its `summary`, or for events from
        before summaries existed, the same figures read (typed) from its parameters."""
        if self.summary is not None:
            return self.summary
        legacy = _LegacyParameters.model_validate(self.parameters)
        if legacy.locale is None:
            return None
        if self.kind is AssetKind.SUBTITLES and legacy.qc is not None:
            return SubtitlesSummary(locale=legacy.locale, format=legacy.format or "qc", events=legacy.events or 0, qc=legacy.qc)
        if self.kind is AssetKind.VOICEOVER and legacy.timing is not None:
            return VoiceoverSummary(locale=legacy.locale, timing=legacy.timing)
        if self.kind is AssetKind.SCRIPT and legacy.locked_terms_missing is not None:
            return TranslationSummary(locale=legacy.locale, locked_terms_missing=legacy.locked_terms_missing,
                                      avoided_terms=legacy.avoided_terms or 0)
        return None

    @model_validator(mode="after")
    def _ai_assets_name_their_model(self) -> AssetGenerated:
        if self.authorship is not Authorship.HUMAN and self.model is None:
            raise ValueError("an AI or mixed asset must name the model that generated it")
        return self


# --- review decisions ------------------------------------------------------------------


class Region(BaseModel):
    """A rectangle a reviewer marked on an image, in fractions of its width and height."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    width: float = Field(gt=0, le=1)
    height: float = Field(gt=0, le=1)
    note: Annotated[str, Field(max_length=2_000)] = ""

    @model_validator(mode="after")
    def _inside_the_image(self) -> Region:
        if self.x + self.width > 1 + 1e-9 or self.y + self.height > 1 + 1e-9:
            raise ValueError("a region lies inside the image: x + width and y + height are at most 1")
        return self

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The region in pixels of a `width`×`height` image: (left, top, right, bottom)."""
        left, top = int(self.x * width), int(self.y * height)
        return left, top, max(left + 1, round((self.x + self.width) * width)), max(top + 1, round((self.y + self.height) * height))


class ReviewDecision(EventData):
    topic: ClassVar[Topic] = Topic.REVIEW_DECISIONS

    decision_id: Id
    asset_id: Id
    kind: AssetKind
    asset_version: int = Field(1, ge=1)
    reviewer: Actor
    decided_at: AwareDatetime
    notes: LongText | None = None
    finding_ids: list[Id] = Field(default_factory=list, max_length=100)
    review_seconds: float | None = Field(None, ge=0, description="Handling time: from the reviewer's first claim to this decision")


class ReviewApproved(ReviewDecision):
    event_type: ClassVar[str] = "helix.review.approved"


class ReviewRejected(ReviewDecision):
    event_type: ClassVar[str] = "helix.review.rejected"


class ReviewRevisionRequested(ReviewDecision):
    event_type: ClassVar[str] = "helix.review.revision_requested"

    notes: Annotated[str, Field(min_length=1, max_length=20_000)]  # a revision always says what to change
    regions: list[Region] = Field(default_factory=list, max_length=50, description="Images: the parts the notes are about")
    timecodes: list[TimeNote] = Field(default_factory=list, max_length=50,
                                      description="Animatics, clips and recordings: the moments or ranges the notes are about")


class ScriptRevisionRequested(GenerationRequest):
    """A reviewer asked for changes to one of the writer's assets (a level, a scene's dialogue
    or storyboard, the assembled script): the writer's own request, made from the decision."""

    event_type: ClassVar[str] = "helix.writer.revision.requested"
    topic: ClassVar[Topic] = Topic.WRITER_REQUESTS

    asset_id: Id
    asset_version: int = Field(1, ge=1, description="The version the reviewer saw")
    notes: Annotated[str, Field(min_length=1, max_length=20_000)]


class ImageRevisionRequested(GenerationRequest):
    """A reviewer asked for changes to a frame, scene plate or texture: re-rendered from the
    version they saw with their notes; where they marked regions, only those change."""

    event_type: ClassVar[str] = "helix.visual.revision.requested"
    topic: ClassVar[Topic] = Topic.VISUAL_REQUESTS

    asset_id: Id
    asset_version: int = Field(1, ge=1, description="The version the reviewer saw")
    notes: Annotated[str, Field(min_length=1, max_length=20_000)]
    regions: list[Region] = Field(default_factory=list, max_length=50)


class FramesRedrawRequested(GenerationRequest):
    """Draw storyboard frames again as they were drawn (shot, prompt, seed, size, layout), with
    the references their characters have approved now: a new version of each frame, whose
    parent is the version it replaces. What a stale frame (a reference revised and approved
    since) needs; nothing is redrawn silently."""

    event_type: ClassVar[str] = "helix.visual.frames.redraw.requested"
    topic: ClassVar[Topic] = Topic.VISUAL_REQUESTS

    frame_asset_ids: list[Id] = Field(min_length=1, max_length=500)


# --- jobs ------------------------------------------------------------------------------


class JobStatus(EventData):
    topic: ClassVar[Topic] = Topic.JOBS_STATUS

    job_id: Id
    service: Annotated[str, Field(min_length=1, max_length=100)]
    at: AwareDatetime


class JobAccepted(JobStatus):
    event_type: ClassVar[str] = "helix.job.accepted"

    request_type: Annotated[str, Field(max_length=200)]
    request_event_id: Annotated[str, Field(max_length=200)]
    caused_by: DecisionRef | None = Field(None, description="The review decision the request reacts to, if any")


class JobProgress(JobStatus):
    event_type: ClassVar[str] = "helix.job.progress"

    step: ShortText
    fraction: float = Field(ge=0, le=1)
    asset_ids: list[Id] = Field(default_factory=list, max_length=100)


class JobFailed(JobStatus):
    event_type: ClassVar[str] = "helix.job.failed"

    error: LongText
    retriable: bool = False


class JobCompleted(JobStatus):
    event_type: ClassVar[str] = "helix.job.completed"

    asset_ids: list[Id] = Field(default_factory=list, max_length=1_000)


