"""Ids of generated assets: built and parsed here, and nowhere else.

A generated asset's id says which job made it and which part of that job's output it is,
so that a retried or redelivered job finds what it already stored (and a reviewer's
decision finds its way back to the service and step that made the asset):

| family | id | parts |
| --- | --- | --- |
| writer | `script-<job>-<part>` | `title`, `characters`, `scenes`, `places`, `script`, `fountain`, `dialogue-<scene>`, `storyboard-<scene>`, `dialogue-<scene>-rewrite-<job>` |
| visual | `frame-<job>-<shot>` | one per shot (`s1-shot2`), or a number for a frame without a shot |
| visual | `scene-<job>`, `texture-<job>` | one image per request |
| localize | `loc-<locale>-<part>-<job>` | `translation`, `subtitles-srt|vtt|ttml|qc`, `voiceover-wav|flac|timing`, `timeline` |

Ids stay within `helix.events.data.Id` (at most 128 characters): a job id too long to fit
is replaced by a short digest of itself, the same for the same job every time.
The vocabulary the parts are made of (script levels, scene, line and shot ids) is here too,
and the ids of the jobs a service runs in reaction to a review decision (`reaction_job_id`):
the same decision is always the same job, so a redelivered decision resumes it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from helix.events.data import ID_MAX_LENGTH, AssetKind, ScriptLevel

__all__ = [
    "LEVEL_ORDER",
    "ScriptPart",
    "ScriptAssetId",
    "ImageAssetId",
    "ImageFamily",
    "script_id_for",
    "scene_part",
    "scene_id",
    "SCENE_ID_PATTERN",
    "line_id",
    "shot_id",
    "parse_asset_id",
    "LocaleAssetId",
    "LocalePart",
    "Reaction",
    "reaction_job_id",
    "animatic_job_id",
]

LEVEL_ORDER: tuple[ScriptLevel, ...] = (ScriptLevel.TITLE, ScriptLevel.CHARACTERS, ScriptLevel.SCENES, ScriptLevel.PLACES,
                                        ScriptLevel.DIALOGUE)
# Scene ids carry no '-', so the parts around them parse one way only.
SCENE_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.]{0,31}"
_SCENE = SCENE_ID_PATTERN
_SHOT = rf"{_SCENE}-shot[0-9]{{1,4}}"


def scene_id(n: int) -> str:
    """The id of the n-th scene of a script (1-based): `s1`, `s2`, …"""
    return f"s{n}"


def line_id(scene: str, n: int) -> str:
    """The id of the n-th line of dialogue of a scene: `s1-l3`."""
    return f"{scene}-l{n}"


def shot_id(scene: str, n: int) -> str:
    """The id of the n-th shot of a scene's storyboard: `s1-shot2`."""
    return f"{scene}-shot{n}"


def _job_part(job_id: str, room: int) -> str:
    """The job id if it fits in `room` characters, else a stable digest of it."""
    if len(job_id) <= room:
        return job_id
    return "h" + hashlib.sha256(job_id.encode()).hexdigest()[: max(8, min(24, room - 1))]


# --- the writer ------------------------------------------------------------------------


class ScriptPart(StrEnum):
    """Parts of a script that are one asset each (scene parts add the scene id)."""

    TITLE = "title"
    CHARACTERS = "characters"
    SCENES = "scenes"
    PLACES = "places"
    SCRIPT = "script"  # the assembled script (JSON)
    FOUNTAIN = "fountain"  # the assembled script as Fountain
    DIALOGUE = "dialogue"  # + scene id: one scene's dialogue
    STORYBOARD = "storyboard"  # + scene id: one scene's shot list


_SCRIPT_ASSET = re.compile(
    rf"^(?P<script>script-.+?)-(?:(?P<level>title|characters|scenes|places|script|fountain)"
    rf"|(?P<scene_part>dialogue|storyboard)-(?P<scene>{_SCENE})(?:-rewrite-(?P<rewrite>.+))?)$"
)
_KIND = {ScriptPart.DIALOGUE: AssetKind.DIALOGUE, ScriptPart.STORYBOARD: AssetKind.STORYBOARD}


def scene_part(part: ScriptPart, scene: str) -> str:
    """The name of one scene's part within its script: `dialogue-s1`, `storyboard-s1`."""
    return f"{part.value}-{scene}"


def script_id_for(job_id: str) -> str:
    """The id of the script a script job writes (its assets are `<script id>-<part>`)."""
    return f"script-{_job_part(job_id, 64)}"


@dataclass(frozen=True)
class ScriptAssetId:
    """`script-<job>-<part>`: one level, scene or assembly of a script."""

    script_id: str
    part: ScriptPart
    scene: str | None = None  # dialogue and storyboard parts
    rewrite_job: str | None = None  # dialogue rewrite candidates for one scene

    def __post_init__(self) -> None:
        if (self.scene is None) == (self.part in (ScriptPart.DIALOGUE, ScriptPart.STORYBOARD)):
            raise ValueError(f"{self.part} {'needs' if self.scene is None else 'takes no'} scene id")
        if self.rewrite_job is not None and self.part is not ScriptPart.DIALOGUE:
            raise ValueError("only dialogue has rewrite candidates")

    def __str__(self) -> str:
        if self.scene is None:
            return f"{self.script_id}-{self.part.value}"
        base = f"{self.script_id}-{scene_part(self.part, self.scene)}"
        if self.rewrite_job is None:
            return base
        return f"{base}-rewrite-{_job_part(self.rewrite_job, ID_MAX_LENGTH - len(base) - 9)}"

    @property
    def name(self) -> str:
        """The part as the writer names it within its script: `title`, `dialogue-s1`, …"""
        return str(self).removeprefix(f"{self.script_id}-")

    @property
    def level(self) -> ScriptLevel | None:
        """The story level this asset is (dialogue of one scene is the dialogue level)."""
        if self.rewrite_job is not None or self.part in (ScriptPart.SCRIPT, ScriptPart.FOUNTAIN, ScriptPart.STORYBOARD):
            return None
        return ScriptLevel(self.part.value)

    @property
    def kind(self) -> AssetKind:
        return _KIND.get(self.part, AssetKind.SCRIPT)

    @classmethod
    def of(cls, script_id: str, name: str) -> ScriptAssetId:
        """From a script id and a part name as `name` gives it (`title`, `dialogue-s1`, …)."""
        parsed = cls.parse(f"{script_id}-{name}")
        if parsed is None or parsed.script_id != script_id:
            raise ValueError(f"{name!r} is not a part of a script")
        return parsed

    @classmethod
    def from_id(cls, asset_id: str) -> ScriptAssetId:
        """`parse`, for an id that must be one (read from a stored document): a ValueError otherwise."""
        if (parsed := cls.parse(asset_id)) is None:
            raise ValueError(f"{asset_id!r} is not a script part's asset id")
        return parsed

    @classmethod
    def parse(cls, asset_id: str) -> ScriptAssetId | None:
        match = _SCRIPT_ASSET.fullmatch(asset_id)
        if match is None:
            return None
        if match["level"]:
            return cls(match["script"], ScriptPart(match["level"]))
        return cls(match["script"], ScriptPart(match["scene_part"]), match["scene"], match["rewrite"])


# --- the visual service ------------------------------------------------------------------


class ImageFamily(StrEnum):
    FRAME = "frame"
    SCENE = "scene"
    TEXTURE = "texture"
    REFERENCE = "reference"
    CLIP = "clip"  # a shot in motion, from its frame: the same item (the shot) as the frame


# A frame always names its shot (or number), a reference view its subject and view; scene plates
# and textures are one per job.
_VIEW = "(?:front|three_quarter|profile|expressions|establishing)"
_IMAGE_ASSET = re.compile(rf"^(?:(?P<shot_family>frame|clip)-(?P<frame_job>.+?)-(?P<item>{_SHOT}|[0-9]{{1,4}})"
                          rf"|reference-(?P<reference_job>.+?)-(?P<view>[a-z0-9]{{1,12}}-{_VIEW})|(?P<family>scene|texture)-(?P<job>.+))$")


# Where a clip's provenance names the frame version it moves (a `helix.documents.VersionRef`).
CLIP_FRAME_INPUT = "frame"


def reference_item(subject_kind: Literal["character", "place"], number: int, view: str) -> str:
    """A reference view's item: its subject's place on the sheet (c1, c2… characters, p1… places,
    in the script's order) and the view: `c1-front`."""
    return f"{subject_kind[0]}{number}-{view}"


@dataclass(frozen=True)
class ImageAssetId:
    """`frame-<job>-<shot or n>`, `reference-<job>-<subject>-<view>`, `scene-<job>`, `texture-<job>`,
    `clip-<job>-<shot or n>`: one image (or, for a clip, one shot in motion) of a visual job."""

    family: ImageFamily
    job: str
    item: str | None = None  # frames: the shot id, or the frame's number

    def __post_init__(self) -> None:
        if (self.item is None) == (self.family in (ImageFamily.FRAME, ImageFamily.REFERENCE, ImageFamily.CLIP)):
            raise ValueError("a frame or clip names its shot or number, a reference view its subject and view; "
                             "scene plates and textures do not")

    def __str__(self) -> str:
        base = f"{self.family.value}-{_job_part(self.job, ID_MAX_LENGTH - 48)}"
        return base if self.item is None else f"{base}-{self.item}"

    @property
    def kind(self) -> AssetKind:
        return AssetKind(self.family.value)

    @property
    def view(self) -> str | None:
        """A reference view's view (`front`, …); None for other images."""
        return self.item.split("-", 1)[1] if self.family is ImageFamily.REFERENCE and self.item else None

    @classmethod
    def from_id(cls, asset_id: str) -> ImageAssetId:
        """`parse`, for an id that must be one (read from a stored document): a ValueError otherwise."""
        if (parsed := cls.parse(asset_id)) is None:
            raise ValueError(f"{asset_id!r} is not an image's asset id")
        return parsed

    @classmethod
    def parse(cls, asset_id: str) -> ImageAssetId | None:
        match = _IMAGE_ASSET.fullmatch(asset_id)
        if match is None:
            return None
        if match["item"]:
            return cls(ImageFamily(match["shot_family"]), match["frame_job"], match["item"])
        if match["view"]:
            return cls(ImageFamily.REFERENCE, match["reference_job"], match["view"])
        return cls(ImageFamily(match["family"]), match["job"])


# --- the localize service ------------------------------------------------------------------


class LocalePart(StrEnum):
    """What one locale's deliverable is (the source locale's voice-over and timeline too)."""

    TRANSLATION = "translation"
    SUBTITLES_SRT = "subtitles-srt"
    SUBTITLES_VTT = "subtitles-vtt"
    SUBTITLES_TTML = "subtitles-ttml"
    SUBTITLES_QC = "subtitles-qc"
    VOICEOVER_WAV = "voiceover-wav"
    VOICEOVER_FLAC = "voiceover-flac"
    VOICEOVER_TIMING = "voiceover-timing"
    TIMELINE = "timeline"
    ANIMATIC = "animatic"

    @property
    def kind(self) -> AssetKind:
        if self is LocalePart.TRANSLATION:
            return AssetKind.SCRIPT
        if self is LocalePart.ANIMATIC:
            return AssetKind.ANIMATIC
        if self.value.startswith("subtitles"):
            return AssetKind.SUBTITLES
        return AssetKind.VOICEOVER


LOCALE_PATTERN = r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*"
_LOCALE_ASSET = re.compile(rf"^loc-(?P<locale>{LOCALE_PATTERN}?)-(?P<part>{'|'.join(p.value for p in LocalePart)})-(?P<job>.+)$")


@dataclass(frozen=True)
class LocaleAssetId:
    """`loc-<locale>-<part>-<job>`: one deliverable of one locale of a localization job."""

    locale: str
    part: LocalePart
    job: str

    def __str__(self) -> str:
        head = f"loc-{self.locale}-{self.part.value}-"
        return head + _job_part(self.job, ID_MAX_LENGTH - len(head))

    @property
    def kind(self) -> AssetKind:
        return self.part.kind

    @classmethod
    def from_id(cls, asset_id: str) -> LocaleAssetId:
        """`parse`, for an id that must be one (read from a stored document): a ValueError otherwise."""
        if (parsed := cls.parse(asset_id)) is None:
            raise ValueError(f"{asset_id!r} is not a localization's asset id")
        return parsed

    @classmethod
    def parse(cls, asset_id: str) -> LocaleAssetId | None:
        match = _LOCALE_ASSET.fullmatch(asset_id)
        if match is None:
            return None
        return cls(match["locale"], LocalePart(match["part"]), match["job"])


def parse_asset_id(asset_id: str) -> ScriptAssetId | ImageAssetId | LocaleAssetId | None:
    """Which generator's asset this is, and which part of which job; None: not a generated id."""
    return ScriptAssetId.parse(asset_id) or ImageAssetId.parse(asset_id) or LocaleAssetId.parse(asset_id)


# --- jobs run in reaction to review ------------------------------------------------------


class Reaction(StrEnum):
    """Why a service made a request of itself: what the decision it reacts to calls for."""

    STORYBOARDS = "sb"  # an approved script: its storyboards
    FRAMES = "fr"  # an approved storyboard: its frames
    LOCALIZATION = "loc"  # an approved script: its localization for the production's markets
    REVISION = "rev"  # a revision request: a new version with the reviewer's notes


def reaction_job_id(reaction: Reaction, decision_id: str) -> str:
    """The job that answers one decision: `<reaction>-<decision>` (a digest when too long)."""
    return _job_part(f"{reaction.value}-{decision_id}", ID_MAX_LENGTH)


def clip_job_id(frame_asset_id: str, frame_version: int) -> str:
    """A frame version's clip job: approving the same frame version again (a double click, a
    redelivered decision) never makes a second clip."""
    return _job_part(f"clp-{frame_asset_id.removeprefix('frame-')}-v{frame_version}", ID_MAX_LENGTH)


def animatic_job_id(locale: str, plan_digest: str) -> str:
    """An animatic's job is its plan: the same approved inputs never make a second animatic."""
    return _job_part(f"anim-{locale}-{plan_digest}", ID_MAX_LENGTH)
