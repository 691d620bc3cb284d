"""The structure of a story, level by level, as the writer generates it (after Dramatron):
logline → title → characters → scene outline → places → dialogue per scene, and a
storyboard (shot list) per approved scene.

Two kinds of models live here:
- *drafts* (`TitleDraft`, `CharactersDraft`, …) are what a language model is asked to
  produce; generation is grammar-constrained to their JSON Schema, so every string and
  list is bounded and generation always closes within its token budget;
- the *script* (`Script`, `SceneScript`, …) is what Helix stores and renders, with the
  ids and attribution a person needs to edit one level and regenerate the ones below.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from helix.events.data import ScriptLevel
from helix.generation.ids import LEVEL_ORDER as LEVEL_ORDER  # re-exported: the levels top to bottom

Name = Annotated[str, Field(min_length=1, max_length=24)]
Short = Annotated[str, Field(min_length=1, max_length=80)]
Beat = Annotated[str, Field(min_length=1, max_length=120)]
Line = Annotated[str, Field(min_length=1, max_length=120)]

# What a model may write (the drafts below): the grammar holds a small model to the shape of a
# name and of a sentence, where it otherwise writes "1. mace", "I am not" or "| JAMES". A name
# is one or two capitalised words; prose begins with a capital (or a letter of a script without
# case, or ¿ ¡), never a digit, a space or a list marker, and has no "|"; a beat or a line of
# dialogue ends as a sentence ends. xgrammar compiles the pattern, pydantic checks it again.
_FIRST = "[A-Z¡¿\u00c0-\ud7ff\ue000-\uffff]"
_REST = "[ !#-\\[\\]-{}~\u00a0-\ud7ff\ue000-\uffff]"  # a JSON string character but "|", with no escapes
_END = "[.!?…。！？]"
_WORD = "[A-Z\u00c0-\ud7ff\ue000-\uffff][a-z'\u00c0-\ud7ff\ue000-\uffff]{1,10}"
WrittenName = Annotated[str, Field(min_length=2, max_length=23, pattern=f"^{_WORD}( {_WORD})?$")]
WrittenTitle = Annotated[str, Field(min_length=2, max_length=80, pattern=f"^{_FIRST}{_REST}{{1,79}}$")]
WrittenShort = Annotated[str, Field(min_length=8, max_length=80, pattern=f"^{_FIRST}{_REST}{{7,79}}$")]
WrittenBeat = Annotated[str, Field(min_length=12, max_length=120, pattern=f"^{_FIRST}{_REST}{{10,118}}{_END}$")]
_CLAUSE = "[ #-\\-/-\\[\\]-{}~\u00a0-\u2025\u2027-\u3001\u3003-\ud7ff\ue000-\uff00\uff02-\uff1e\uff20-\uffff]"  # _REST but . ! ? … 。！？
WrittenLine = Annotated[str, Field(min_length=2, max_length=90, pattern=f"^{_FIRST}{_CLAUSE}{{1,88}}{_END}$")]


Level = ScriptLevel  # the contract's level names (helix.events), top to bottom in LEVEL_ORDER


class PlotElement(StrEnum):
    EXPOSITION = "exposition"
    INCITING_INCIDENT = "inciting_incident"
    RISING_ACTION = "rising_action"
    DILEMMA = "dilemma"
    CLIMAX = "climax"
    FALLING_ACTION = "falling_action"
    RESOLUTION = "resolution"


class ShotType(StrEnum):
    WIDE = "wide"
    MEDIUM = "medium"
    CLOSE_UP = "close_up"
    EXTREME_CLOSE_UP = "extreme_close_up"
    OVER_THE_SHOULDER = "over_the_shoulder"
    INSERT = "insert"


class Camera(StrEnum):
    STATIC = "static"
    PAN = "pan"
    TILT = "tilt"
    DOLLY = "dolly"
    HANDHELD = "handheld"
    CRANE = "crane"


class _Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")


DraftT = TypeVar("DraftT", bound=_Draft)


# --- drafts: what the model writes -------------------------------------------------------


class TitleDraft(_Draft):
    title: WrittenTitle


class CharacterDraft(_Draft):
    name: WrittenName
    description: WrittenShort
    voice_notes: Annotated[str, Field(max_length=60)]


MAX_CHARACTERS = 12
MAX_SCENES = 60
MAX_LINES_PER_SCENE = 30
MAX_ACTS = 5


class CharactersDraft(_Draft):
    characters: list[CharacterDraft] = Field(min_length=2, max_length=6)  # dialogue needs two people (SmolLM2 once wrote a cast of one)


class ActDraft(_Draft):
    beat: WrittenBeat


class ActsDraft(_Draft):
    acts: list[ActDraft] = Field(min_length=1, max_length=MAX_ACTS)


class SceneDraft(_Draft):
    place: WrittenName
    plot_element: PlotElement
    beat: WrittenBeat


class ScenesDraft(_Draft):
    scenes: list[SceneDraft] = Field(min_length=1, max_length=5)


def exactly(model: type[DraftT], field: str, count: int) -> type[DraftT]:
    """`model` with its list `field` holding exactly `count` items: the grammar then makes
    the model write that many (e.g. the scenes of one act)."""
    annotation = model.model_fields[field].annotation
    return create_model(f"{model.__name__}{count}", __base__=model,
                        **{field: (annotation, Field(min_length=count, max_length=count))})  # type: ignore[call-overload]  # a field named at run time


def at_most(model: type[DraftT], field: str, count: int) -> type[DraftT]:
    """`model` with its list `field` holding 1 to `count` items (a chunk that fits a budget)."""
    annotation = model.model_fields[field].annotation
    return create_model(f"{model.__name__}Max{count}", __base__=model,
                        **{field: (annotation, Field(min_length=1, max_length=count))})  # type: ignore[call-overload]  # a field named at run time


class PlaceDraft(_Draft):
    description: WrittenShort


class DialogueLineDraft(_Draft):
    speaker: Name
    parenthetical: Annotated[str, Field(max_length=30)] = ""
    text: WrittenLine


class DialogueDraft(_Draft):
    """Some lines of one scene; `scene_done` says whether the scene needs more (up to
    MAX_LINES_PER_SCENE lines, written in chunks that fit the model's budget)."""

    lines: list[DialogueLineDraft] = Field(min_length=1, max_length=8)
    scene_done: bool


def spoken_by(names: list[str], count: int, *, at_least: int = 1) -> type[DialogueDraft]:
    """`at_least` to `count` lines of a scene, each spoken by one of the cast's `names`: the
    grammar lets the model choose a speaker, never invent one (a small model otherwise names
    people from its prompt's examples, or nobody), and a scene's first chunk can ask for a
    few lines (a small model otherwise ends a scene after one)."""
    at_least = max(1, min(at_least, count))
    line: Any = DialogueLineDraft
    if names:
        speaker: Any = Literal[tuple(dict.fromkeys(names))]  # the cast, known at run time
        line = create_model("DialogueLineOfCast", __base__=DialogueLineDraft, speaker=(speaker, ...))
    return create_model(f"DialogueDraftOfCast{at_least}to{count}", __base__=DialogueDraft,
                        lines=(list[line], Field(min_length=at_least, max_length=count)))


class LineDraft(_Draft):
    """One rewritten line of dialogue."""

    text: WrittenLine


class ShotDraft(_Draft):
    shot_type: ShotType
    camera: Camera
    subjects: list[Name] = Field(max_length=2)
    action: Annotated[str, Field(min_length=1, max_length=100)]
    duration_s: int = Field(ge=1, le=20)


class StoryboardDraft(_Draft):
    shots: list[ShotDraft] = Field(min_length=1, max_length=4)


def json_budget(draft: type[BaseModel], tokens_per_char: int = 1) -> int:
    """The most tokens the longest JSON a draft's schema allows can take: the budget that lets
    a constrained generation always close. Structure (keys, punctuation, numbers) is ASCII,
    at most one token a character; each string character costs at most `tokens_per_char`
    tokens (the engine measures it for its tokenizer: 3 for byte-level BPE on the BMP
    characters the grammar admits, whatever the script)."""
    schema = draft.model_json_schema()
    defs = schema.get("$defs", {})

    def size(node: dict) -> int:
        if "$ref" in node:
            return size(defs[node["$ref"].rsplit("/", 1)[-1]])
        if "anyOf" in node:
            return max(size(n) for n in node["anyOf"])
        if "enum" in node:
            return max(len(str(v)) for v in node["enum"]) + 2
        kind = node.get("type")
        if kind == "object":
            props = node.get("properties", {})
            return 2 + sum(len(k) + 4 + size(v) for k, v in props.items())
        if kind == "array":
            return 2 + node.get("maxItems", 8) * (size(node.get("items", {})) + 2)
        if kind == "string":
            return node.get("maxLength", 200) * tokens_per_char + 2
        if kind in ("integer", "number"):
            return 21
        return 5  # boolean, null

    return size(schema)


# --- the script: what Helix keeps --------------------------------------------------------

Author = Literal["ai", "human"]


class Character(BaseModel):
    name: Name
    description: Short
    voice_notes: str = ""
    author: Author = "ai"


class Place(BaseModel):
    name: Name
    description: str
    author: Author = "ai"


class DialogueLine(BaseModel):
    line_id: str
    speaker: Name
    parenthetical: str = ""
    text: str
    author: Author = "ai"
    selected_by: str | None = None  # a person chose this model-written line among candidates


class SceneScript(BaseModel):
    scene_id: str
    place: Name
    plot_element: PlotElement
    beat: str
    act: int = 1
    dialogue: list[DialogueLine] = Field(default_factory=list)
    author: Author = "ai"


class Act(BaseModel):
    number: int
    beat: str
    author: Author = "ai"


class StaleMark(BaseModel):
    """A level a person wrote or changed, kept when a level above it was regenerated: it may
    no longer fit, and a person decides (keep it, edit it, or ask for it to be regenerated)."""

    part: str  # "characters", "dialogue-s3", …
    because: str  # the level regenerated above it
    job_id: str


class Script(BaseModel):
    """A whole script, assembled from its levels."""

    production_id: str
    logline: str
    title: str
    title_author: Author = "ai"
    locale: str = "en"
    target_locales: list[str] = Field(default_factory=list)  # the markets it is localized for once approved
    acts: list[Act] = Field(default_factory=list)
    characters: list[Character]
    places: list[Place]
    scenes: list[SceneScript]
    stale: list[StaleMark] = Field(default_factory=list)


class CameraAngle(StrEnum):
    """Where the lens points: the horizon sits higher in the frame the more it looks down."""

    EYE_LEVEL = "eye_level"
    HIGH = "high"  # looking down on the subjects
    LOW = "low"  # looking up at them
    OVERHEAD = "overhead"  # straight down: no horizon


class Facing(StrEnum):
    CAMERA = "camera"
    LEFT = "left"  # screen left
    RIGHT = "right"
    AWAY = "away"


class Placement(BaseModel):
    """Where one character stands in a shot: across the frame (0 its left edge, 1 its right)
    and in depth (0 at the front of the set, 1 at the back), and which way they face."""

    model_config = ConfigDict(extra="forbid")

    character: str = Field(min_length=1)
    x: float = Field(ge=0.0, le=1.0)
    depth: float = Field(default=0.0, ge=0.0, le=1.0)
    facing: Facing = Facing.CAMERA


class Blocking(BaseModel):
    """Who stands where in a shot, and the camera's angle and height (metres above the
    floor): a director's say over the layout of a frame, drawn as a sketch that conditions it."""

    model_config = ConfigDict(extra="forbid")

    placements: list[Placement] = Field(default_factory=list, max_length=8)
    angle: CameraAngle = CameraAngle.EYE_LEVEL
    height_m: float = Field(default=1.6, gt=0.0, le=30.0)


class Shot(BaseModel):
    shot_id: str
    shot_type: ShotType
    camera: Camera
    subjects: list[str]
    action: str
    location: str
    duration_s: int
    blocking: Blocking | None = None  # None: the subjects spread across the frame, at eye level (`staged`)

    @model_validator(mode="after")
    def _blocking_names_the_shots_subjects(self) -> Shot:
        if self.blocking is not None:
            unknown = [p.character for p in self.blocking.placements if p.character not in self.subjects]
            if unknown:
                raise ValueError(f"the blocking of shot {self.shot_id} places {', '.join(unknown)}, not among its subjects "
                                 f"({', '.join(self.subjects) or 'none'})")
            placed = [p.character for p in self.blocking.placements]
            if len(set(placed)) != len(placed):
                raise ValueError(f"the blocking of shot {self.shot_id} places a character twice")
        return self

    def staged(self) -> Blocking:
        """The shot's blocking: the director's, or its subjects evenly across the frame."""
        if self.blocking is not None:
            return self.blocking
        n = len(self.subjects)
        return Blocking(placements=[Placement(character=c, x=(k + 1) / (n + 1)) for k, c in enumerate(self.subjects)])


class Storyboard(BaseModel):
    production_id: str
    script_id: str
    scene_id: str
    shots: list[Shot]


class LineCandidates(BaseModel):
    line_id: str
    speaker: str
    original: str
    candidates: list[str]


class DialogueRewrite(BaseModel):
    """Alternatives for some lines of a scene, for a person to pick from."""

    dialogue_asset_id: str
    goal: dict[str, object]
    lines: list[LineCandidates]
