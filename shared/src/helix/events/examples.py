"""One valid example of every event type: for docs, tests, benchmarks and demos."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from helix.events import data as d
from helix.events.data import EventData

_NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
_DIRECTOR = {"subject": "dana@studio.example", "kind": "user", "roles": ["director"]}
_REVIEWER = {"subject": "rhea@studio.example", "kind": "user", "roles": ["reviewer"]}
_REQUEST = {"production_id": "lighthouse", "job_id": "job-0001", "requested_by": _DIRECTOR}
_IMAGE = {**_REQUEST, "prompt": "a lighthouse in a storm, storyboard sketch", "width": 512, "height": 288, "seed": 7}
_DECISION = {
    "production_id": "lighthouse",
    "decision_id": "dec-0001",
    "asset_id": "script-0001",
    "kind": "script",
    "reviewer": _REVIEWER,
    "decided_at": _NOW,
}
_JOB = {"production_id": "lighthouse", "job_id": "job-0001", "service": "writer", "at": _NOW}

EXAMPLES: dict[type[EventData], dict[str, Any]] = {
    d.ScriptRequested: {**_REQUEST, "logline": "An old keeper must keep the light burning through one last storm.", "style": "coastal noir", "target_locales": ["de-DE", "ja-JP"]},
    d.ScriptLevelRewritten: {**_REQUEST, "script_id": "script-job-0001", "level": "title", "content": {"title": "The Last Light"}},
    d.DialogueRewriteRequested: {**_REQUEST, "dialogue_asset_id": "dialogue-0003", "line_ids": ["l-12"], "tone": "warmer", "target_syllables": 12},
    d.ScriptEditRequested: {**_REQUEST, "script_id": "script-job-0001", "operation": "continue", "level": "dialogue", "scene_id": "s3", "count": 4},
    d.DialogueEdited: {**_REQUEST, "script_id": "script-job-0001", "scene_id": "s3",
                       "lines": [{"line_id": "s3-l1", "speaker": "MARA", "text": "Light it. Now."}]},
    d.CandidateApplied: {**_REQUEST, "rewrite_asset_id": "script-job-0001-dialogue-s3-rewrite-job-0002", "line_id": "s3-l1", "candidate": 1},
    d.StoryboardRequested: {**_REQUEST, "script_asset_id": "script-0001", "scene_ids": ["s-1", "s-2"]},
    d.FrameRequested: {**_IMAGE, "shot_id": "s-1-shot-3"},
    d.ClipRequested: {**_REQUEST, "frame_asset_id": "frame-job-0001-s1-shot2", "prompt": "the storm builds", "fps": 8},
    d.SceneRequested: dict(_IMAGE),
    d.TextureRequested: {**_IMAGE, "prompt": "weathered white paint on stone", "width": 256, "height": 256},
    d.LocalizeRequested: {**_REQUEST, "source_asset_id": "script-0001", "target_locales": ["de-DE", "es-MX"], "deliverables": ["subtitles", "voiceover"]},
    d.ScriptRevisionRequested: {**_REQUEST, "asset_id": "script-job-0001-dialogue-s3", "asset_version": 2,
                                "notes": "Mara sounds too calm here.", "caused_by": {"decision_id": "dec-0002", "event_id": "evt-0002",
                                "asset_id": "script-job-0001-dialogue-s3", "asset_version": 2, "outcome": "revision_requested"}},
    d.ImageRevisionRequested: {**_REQUEST, "asset_id": "frame-job-0001-s1-shot2", "asset_version": 1, "notes": "Darker sky.",
                               "regions": [{"x": 0.0, "y": 0.0, "width": 1.0, "height": 0.4, "note": "storm clouds"}]},
    d.FramesRedrawRequested: {**_REQUEST, "frame_asset_ids": ["frame-job-0001-s1-shot2"]},
    d.ReferenceSheetRequested: {**_IMAGE, "prompt": "", "script_asset_id": "script-job-0001-script", "characters": ["MARA"]},
    d.ReferenceUploaded: {**_REQUEST, "script_asset_id": "script-job-0001-script", "subject": "MARA", "view": "front",
                          "upload": {"key": "uploads/lighthouse/upload-0001.png", "size": 48213, "media_type": "image/png",
                                     "sha256": "5d41402abc4b2a76b9719d911017c592aa0e5ca9a8b2f0c4d6b1e0f3a7c9d2e1", "filename": "mara-front.png"}},
    d.AnimaticRequested: {**_REQUEST, "localization_job_id": "job-0001", "locale": "de-DE"},
    d.AssetGenerated: {
        "production_id": "lighthouse",
        "asset_id": "script-0001",
        "job_id": "job-0001",
        "kind": "script",
        "version": 1,
        "object_key": "productions/lighthouse/script/script-0001/v1.fountain",
        "sha256": "9f2b7c1e0d4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344",
        "size_bytes": 2048,
        "media_type": "text/x-fountain",
        "model": {"id": "helix/tiny-llama", "revision": "main"},
        "inputs": {"logline": "An old keeper must keep the light burning through one last storm."},
        "parameters": {"temperature": 0.8, "max_new_tokens": 512},
        "seed": 42,
        "parent_asset_ids": [],
        "authorship": "ai",
        "generated_by": {"subject": "writer", "kind": "service"},
        "generated_at": _NOW,
    },
    d.ReviewApproved: dict(_DECISION),
    d.ReviewRejected: {**_DECISION, "notes": "Off-brand tone."},
    d.ReviewRevisionRequested: {**_DECISION, "notes": "Make Mara's last line shorter."},
    d.JobAccepted: {**_JOB, "request_type": "helix.writer.script.requested", "request_event_id": "evt-0001"},
    d.JobProgress: {**_JOB, "step": "characters", "fraction": 0.25, "asset_ids": ["characters-0001"]},
    d.JobFailed: {**_JOB, "error": "model ran out of memory", "retriable": True},
    d.JobCompleted: {**_JOB, "asset_ids": ["script-0001"]},
}


def example(event_model: type[EventData], /, **overrides: Any) -> EventData:
    """A valid instance of `event_model`, with fields overridden as given."""
    return event_model.model_validate({**EXAMPLES[event_model], **overrides})
