"""Typed reads of a consumed Kafka record. confluent-kafka types every accessor as optional
(a message being produced has no offset yet); a consumed record always has them, so they are
read here once, with that said, instead of at every call site."""

from __future__ import annotations

from confluent_kafka import KafkaError, Message


def position(raw: Message) -> tuple[str, int, int]:
    """(topic, partition, offset) of a consumed record."""
    topic, partition, offset = raw.topic(), raw.partition(), raw.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError("the record has no position: it was not consumed from a topic")
    return topic, partition, offset


def header_pairs(raw: Message) -> list[tuple[str, bytes]]:
    """The record's headers as (name, bytes), in order (a header without a value is empty bytes)."""
    headers = raw.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return [(name, value.encode() if isinstance(value, str) else (value or b"")) for name, value in pairs]


def header_text(raw: Message, encoding: str = "latin-1", errors: str = "strict") -> dict[str, str]:
    """The record's headers as text (the last of a repeated name wins)."""
    return {name: value.decode(encoding, errors) for name, value in header_pairs(raw)}


def error_code(raw: Message) -> int | None:
    """The record's error code (None: a record, not an error); `KafkaError._PARTITION_EOF` at a partition's end."""
    error: KafkaError | None = raw.error()
    return None if error is None else error.code()
