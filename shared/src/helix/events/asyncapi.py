"""The AsyncAPI document of Helix's topics, generated from the event models.

`make asyncapi` runs `faststream docs gen helix.events.asyncapi:app`, writing
`docs/asyncapi.yaml`; a test fails when the committed document is out of date.
Each topic is declared with the CloudEvents envelopes of the event types it carries.
"""

from __future__ import annotations

from typing import Union

from faststream import FastStream
from faststream.confluent import KafkaBroker
from faststream.specification import AsyncAPI

from helix import __version__
from helix.events.envelope import envelope_model
from helix.events.registry import models_on
from helix.events.topics import TOPIC_DESCRIPTIONS, Topic

broker = KafkaBroker("kafka:9092", description="Helix event bus: CloudEvents 1.0, structured JSON mode, key = production id")

for topic in Topic:
    models = models_on(topic)
    if not models:  # the DLQ carries other topics' original bytes
        broker.publisher(topic.value, title=topic.value, description=TOPIC_DESCRIPTIONS[topic], schema=bytes)
        continue
    envelopes = tuple(envelope_model(m) for m in models)
    schema = envelopes[0] if len(envelopes) == 1 else Union[envelopes]  # noqa: UP007
    types = ", ".join(m.event_type for m in models)
    broker.publisher(topic.value, title=topic.value, description=f"{TOPIC_DESCRIPTIONS[topic]} Types: {types}.", schema=schema)

app = FastStream(
    broker,
    specification=AsyncAPI(
        title="Helix events",
        version=__version__,
        description="Kafka topics of the Helix studio pipeline. Topics are versioned (.v1); "
        "event data models gain only optional fields within a version.",
    ),
)
