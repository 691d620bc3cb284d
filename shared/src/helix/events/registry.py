"""Which data model and topic belong to each CloudEvents `type`."""

from __future__ import annotations

from helix.events import data
from helix.events.data import EventData
from helix.events.topics import Topic

EVENT_MODELS: tuple[type[EventData], ...] = (
    data.ScriptRequested,
    data.ScriptLevelRewritten,
    data.DialogueRewriteRequested,
    data.ScriptEditRequested,
    data.DialogueEdited,
    data.CandidateApplied,
    data.StoryboardRequested,
    data.ScriptRevisionRequested,
    data.FrameRequested,
    data.ClipRequested,
    data.SceneRequested,
    data.TextureRequested,
    data.ImageRevisionRequested,
    data.FramesRedrawRequested,
    data.ReferenceSheetRequested,
    data.ReferenceUploaded,
    data.LocalizeRequested,
    data.AnimaticRequested,
    data.AssetGenerated,
    data.ReviewApproved,
    data.ReviewRejected,
    data.ReviewRevisionRequested,
    data.JobAccepted,
    data.JobProgress,
    data.JobFailed,
    data.JobCompleted,
)

_BY_TYPE: dict[str, type[EventData]] = {m.event_type: m for m in EVENT_MODELS}
assert len(_BY_TYPE) == len(EVENT_MODELS), "two models claim one event type"


def model_for_type(event_type: str) -> type[EventData] | None:
    return _BY_TYPE.get(event_type)


def models_on(topic: Topic) -> tuple[type[EventData], ...]:
    return tuple(m for m in EVENT_MODELS if m.topic is topic)
