"""Topic creation: every Helix topic exists, with the configured partitions, before use."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from helix.events.topics import Topic
from helix.settings import HelixSettings


def ensure_topics(settings: HelixSettings, topics: Iterable[Topic | str] = tuple(Topic), timeout: float = 30.0) -> list[str]:
    """Create the (namespaced) topics that do not exist yet; returns the ones created."""
    admin = AdminClient(settings.kafka_client_config())
    names = [settings.topic(str(t)) for t in topics]
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [
        NewTopic(name, num_partitions=settings.topic_partitions, replication_factor=settings.topic_replication)
        for name in names
        if name not in existing
    ]
    if not wanted:
        return []
    created = []
    for name, future in admin.create_topics(wanted, operation_timeout=timeout, request_timeout=timeout).items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # a racing peer made it: fine
                raise
    return created
