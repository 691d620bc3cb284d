"""Event contracts: the envelope, the versioned data models, the topics."""

from helix.events.data import *  # noqa: F403  (the data models are the public contract)
from helix.events.data import __all__ as _data_all
from helix.events.envelope import CONTENT_TYPE, CloudEvent, DecodeError, decode, encode, new_event
from helix.events.registry import EVENT_MODELS, model_for_type, models_on
from helix.events.topics import Topic

__all__ = [
    *_data_all,
    "CONTENT_TYPE",
    "CloudEvent",
    "DecodeError",
    "decode",
    "encode",
    "new_event",
    "EVENT_MODELS",
    "model_for_type",
    "models_on",
    "Topic",
]
