"""A review queue that holds every asset kind, made the way generators make assets: through
the generator kit's store call (so images and audio carry real Content Credentials) onto the
real asset store and broker."""

from __future__ import annotations

import io
import json
import math
import struct
import uuid
import wave
from dataclasses import dataclass, field

from PIL import Image

from helix.assets import AssetStore
from helix.bus import HelixBus
from helix.events import (
    Actor,
    AssetCost,
    AssetKind,
    Authorship,
    FrameRequested,
    HeardLine,
    ListeningSummary,
    ModelRef,
    VoiceoverSummary,
    new_event,
)
from helix.generation.assets import GeneratedAsset
from helix.generation.jobs import GeneratorKit, Job
from helix.settings import HelixSettings

WRITER = ModelRef(id="helix/tiny-llama", revision="r1")
PAINTER = ModelRef(id="helix/tiny-sd", revision="r1")
VOICE = ModelRef(id="helix/tiny-vits", revision="r1")
JSON = "application/json"
SRT = """1
00:00:01,000 --> 00:00:03,200
Vierzig Jahre, und das Licht
ist nie ausgegangen.

2
00:00:03,600 --> 00:00:05,400
Nicht heute Nacht.
"""


@dataclass
class Seeded:
    """What was seeded: asset ids by kind (a revised asset appears once, with both versions stored)."""

    production_id: str
    by_kind: dict[str, list[str]] = field(default_factory=dict)
    revised: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(len(v) for v in self.by_kind.values()) + len(self.revised)


def png(width: int, height: int, seed: int) -> bytes:
    image = Image.new("RGB", (width, height))
    image.putdata([((x * 7 + seed * 40) % 256, (y * 5 + seed * 90) % 256, (x * y + seed) % 256) for y in range(height) for x in range(width)])
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def wav(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / rate))) for i in range(int(seconds * rate))))
    return out.getvalue()


def _json(content: object, **extra: object) -> bytes:
    """A stored document; with `level` and `script_id`, a part of a script as the writer stores it."""
    return json.dumps({"content": content, **extra}, ensure_ascii=False, indent=1).encode()


async def seed_every_kind(settings: HelixSettings, production_id: str, *, requested_by: str = "dora", images: int = 3,
                          tag: str = "", misheard: bool = False) -> Seeded:
    """Store one or more assets of every kind for `production_id` (and one revision each of a
    title and a frame); their `helix.asset.generated` events go out on the broker. With
    `misheard`, the voice-over's listening QC flagged one line (a blocking finding)."""
    tag = tag or uuid.uuid4().hex[:6]
    script = f"script-{tag}"
    board = f"{script}-storyboard-s1"
    seeded = Seeded(production_id)
    request = FrameRequested(production_id=production_id, job_id=f"job-seed-{tag}", requested_by=Actor(subject=requested_by),
                             prompt="the lamp room at night", seed=7)
    cost = AssetCost(model_seconds=0.8, gpu_seconds=0.0, device="cpu")
    store = AssetStore(settings)
    async with HelixBus(settings, source="/helix/tests-seed") as bus:
        kit = GeneratorKit(service="seed", store=store, bus=bus, settings=settings)
        job: Job[FrameRequested] = Job(kit, new_event(request, source="/helix/tests-seed"))
        # A revision is another job's work (a job stores one version of each asset it makes).
        revising: Job[FrameRequested] = Job(kit, new_event(request.model_copy(update={"job_id": f"job-seed-{tag}-rev"}),
                                                           source="/helix/tests-seed"))

        async def put(kind: AssetKind, asset_id: str, data: bytes, media_type: str, ext: str, model: ModelRef | None, **more: object) -> None:
            await (revising if more.get("revises_version") else job).store(GeneratedAsset(kind=kind, asset_id=asset_id, data=data, media_type=media_type, ext=ext, model=model, seed=7,
                                           cost=cost if model else None, **more))  # type: ignore[arg-type]
            if more.get("revises_version"):
                seeded.revised.append(asset_id)
            else:
                seeded.by_kind.setdefault(kind.value, []).append(asset_id)

        title = f"{script}-title"
        await put(AssetKind.SCRIPT, title, _json(level="title", script_id=script, content={"title": "The Last Light"}), JSON, "json", WRITER, parameters={"level": "title"},
                  inputs={"messages": [{"role": "user", "content": "a title"}]})
        await put(AssetKind.SCRIPT, title, _json(level="title", script_id=script, content={"title": "The Last Light of Carrow Point"}), JSON, "json", None,
                  parameters={"level": "title"}, authorship=Authorship.HUMAN, revises_version=1)
        lines = [{"line_id": "s1-l1", "speaker": "MARA", "parenthetical": "", "text": "Forty years, and the light has never gone out.",
                  "author": "ai"},
                 {"line_id": "s1-l2", "speaker": "TOM", "parenthetical": "quietly", "text": "Not tonight.", "author": "human"},
                 {"line_id": "s1-l3", "speaker": "MARA", "parenthetical": "", "text": "Then we keep it.", "author": "ai", "selected_by": "dora"}]
        await put(AssetKind.DIALOGUE, f"{script}-dialogue-s1", _json(level="dialogue-s1", script_id=script, content=lines), JSON, "json", WRITER, parameters={"level": "dialogue-s1"},
                  authorship=Authorship.MIXED)
        shots = [{"shot_id": f"sh{i}", "shot_type": "wide", "camera": "static", "subjects": ["MARA"], "action": f"the lamp turns {i}",
                  "location": "lamp room", "duration_s": 3 + i} for i in range(1, images + 1)]
        await put(AssetKind.STORYBOARD, board, _json(level="storyboard-s1", script_id=script, content={"production_id": production_id, "script_id": script, "scene_id": "s1",
                                              "shots": shots}),
                  JSON, "json", WRITER, parameters={"level": "storyboard-s1"})
        for i in range(1, images + 1):
            await put(AssetKind.FRAME, f"frame-{tag}-s1-sh{i}", png(96, 64, i), "image/png", "png", PAINTER, parents=[board],
                      inputs={"prompt": f"the lamp turns {i}"})
        await put(AssetKind.FRAME, f"frame-{tag}-s1-sh1", png(96, 64, 9), "image/png", "png", PAINTER, parents=[board],
                  inputs={"prompt": "the lamp turns 1, warmer"}, revises_version=1)
        await put(AssetKind.SCENE, f"scene-{tag}-cliff", png(128, 72, 4), "image/png", "png", PAINTER, inputs={"prompt": "the cliff"})
        await put(AssetKind.TEXTURE, f"texture-{tag}-stone", png(64, 64, 5), "image/png", "png", PAINTER, inputs={"prompt": "wet stone"})
        await put(AssetKind.SUBTITLES, f"{script}-de-DE-srt", SRT.encode(), "application/x-subrip", "srt", WRITER,
                  parameters={"locale": "de-DE", "qc": {"passed": True, "breaches": 0, "rules": []}, "locked_terms_missing": 1})
        heard = HeardLine(line_id="s1-l2", text="Nicht heute Nacht.", transcript="Nicht heute Nachtlicht.", wer=0.67, cer=0.2, start=0.2, end=0.8)
        listening = ListeningSummary(model=ModelRef(id="whisper:whisper-base", revision="sha256:0"), lines=3, median_wer=0.0, wer_limit=0.3,
                                     flagged=[heard] if misheard else [], seconds=1.0)
        await put(AssetKind.VOICEOVER, f"{script}-de-DE-voiceover", wav(), "audio/wav", "wav", VOICE,
                  parameters={"locale": "de-DE", "timing": {"lines": 2, "overshoots": 0, "max_overshoot_ms": 0}},
                  summary=VoiceoverSummary(locale="de-DE", listening=listening))
    return seeded
