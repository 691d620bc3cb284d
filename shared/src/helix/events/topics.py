"""Kafka topic names: part of Helix's public API. A breaking change gets a new `.vN` topic."""

from enum import StrEnum


class Topic(StrEnum):
    WRITER_REQUESTS = "helix.writer.requests.v1"
    VISUAL_REQUESTS = "helix.visual.requests.v1"
    LOCALIZE_REQUESTS = "helix.localize.requests.v1"
    ASSETS_GENERATED = "helix.assets.generated.v1"
    REVIEW_DECISIONS = "helix.review.decisions.v1"
    JOBS_STATUS = "helix.jobs.status.v1"
    DLQ = "helix.dlq.v1"


TOPIC_DESCRIPTIONS: dict[Topic, str] = {
    Topic.WRITER_REQUESTS: "Requests for scripts, dialogue rewrites and storyboard beats (consumer: writer).",
    Topic.VISUAL_REQUESTS: "Requests for frames, scenes and textures (consumer: visual).",
    Topic.LOCALIZE_REQUESTS: "Requests to translate, subtitle and voice an approved asset (consumer: localize).",
    Topic.ASSETS_GENERATED: "Every generated asset, with provenance and lineage (consumers: review, gateway).",
    Topic.REVIEW_DECISIONS: "Human review decisions on assets (consumers: gateway, generators, studio systems).",
    Topic.JOBS_STATUS: "Job lifecycle of every request (consumer: gateway).",
    Topic.DLQ: "Messages a consumer could not decode, validate or handle: the original bytes and "
    "headers, plus helix-dlq-* headers with the reason.",
}
