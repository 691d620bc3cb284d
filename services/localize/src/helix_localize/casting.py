"""Who speaks each character: the production's voice casting (`helix.casting`), read from the
review service, which keeps it beside the consents it depends on, then completed with the
service's own stable choices for the characters it does not cast.

A performer's voice is spoken only under a consent for `voice` in force for this production
when the job runs: without one the job is refused with the reason, before anything is spoken.
What a dub used (each character's model, speaker, and performer and consent where there is
one) is recorded in its inputs and timing report, so the review service sees the performer's
name, records the consent the dub relies on, and flags the dub again when that consent is
revoked or expires.

No casting address (`HELIX_LOCALIZE_CASTING_ADDRESS` empty): the configured voices alone, and
no performer's voice is ever spoken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import grpc
import structlog
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from helix.casting import Casting, ModelVoice, PerformerVoice, ResolvedCasting, SpokenVoice, character_key
from helix.generation.jobs import JobRefused
from helix.v1 import review_pb2, review_pb2_grpc
from helix_localize import voice

log = structlog.get_logger("helix.localize.casting")
_RETRY = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


class CastingSource(Protocol):
    async def casting(self, production_id: str) -> ResolvedCasting: ...


class NoCasting:
    """No casting table: every character speaks with the configured voices."""

    async def casting(self, production_id: str) -> ResolvedCasting:
        return ResolvedCasting(casting=Casting(production_id=production_id))


class ReviewCasting:
    """The casting over the review service's gRPC `GetCasting`, retried while it is away (a
    restart, a rollout) up to `timeout_s`; past that the job fails, never speaking a default
    voice in place of a cast one."""

    def __init__(self, address: str, *, timeout_s: float) -> None:
        self.address = address
        self.timeout_s = timeout_s

    async def casting(self, production_id: str) -> ResolvedCasting:
        retrying = AsyncRetrying(stop=stop_after_delay(self.timeout_s), wait=wait_exponential_jitter(multiplier=0.5, max=5.0),
                                 retry=retry_if_exception(lambda e: isinstance(e, grpc.aio.AioRpcError) and e.code() in _RETRY),
                                 reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    # review.proto is internal (the cluster's network policies admit the gateway and localize only)
                    async with grpc.aio.insecure_channel(self.address) as channel:
                        found = await review_pb2_grpc.ReviewServiceStub(channel).GetCasting(
                            review_pb2.GetCastingRequest(production_id=production_id), timeout=min(self.timeout_s, 30.0))
                        return ResolvedCasting.from_wire(found.casting_json, found.series_json, found.consents)
        except grpc.aio.AioRpcError as exc:
            log.warning("localize.casting_unreachable", production_id=production_id, code=exc.code().name, detail=(exc.details() or "")[:200])
            raise RuntimeError(f"the voice casting of {production_id} could not be read from {self.address}: {exc.code().name}") from None
        raise AssertionError("unreachable")  # pragma: no cover


def voices(resolved: ResolvedCasting, characters: list[str], locale: str, default_model: str, speakers_of: Callable[[str], int],
           configured: dict[str, int]) -> dict[str, SpokenVoice]:
    """Each character's voice in `locale`: its casting entry (a model voice, or a performer's
    under their consent), else a speaker of the locale's configured voice chosen from the name
    (`voice.cast_voices`: distinct within the cast while speakers last)."""
    production, effective = resolved.casting.production_id, resolved.effective
    spoken: dict[str, SpokenVoice] = {}
    wanted = dict(configured)  # speakers of the locale's voice fixed by the settings or the casting
    on_default: list[str] = []
    for character in dict.fromkeys(characters):
        cast = effective.voice_for(character, locale)
        if isinstance(cast, PerformerVoice):
            consent = resolved.consent_for(cast.performer)
            if consent is None:
                raise JobRefused(f"{character}'s voice in {locale} is {cast.performer}'s, and no consent of theirs for 'voice' in "
                                 f"production {production} is in force: record one, or cast {character} to another voice")
            _check_speaker(character, cast.model, cast.speaker, speakers_of)
            spoken[character] = SpokenVoice(model=cast.model, speaker=cast.speaker, performer=cast.performer, consent=consent)
        elif isinstance(cast, ModelVoice) and cast.model not in (None, default_model):
            assert cast.model is not None
            speaker = cast.speaker if cast.speaker is not None else voice.cast_voices([character], speakers_of(cast.model), {})[character]
            _check_speaker(character, cast.model, speaker, speakers_of)
            spoken[character] = SpokenVoice(model=cast.model, speaker=speaker)
        else:
            if isinstance(cast, ModelVoice) and cast.speaker is not None:
                wanted[character_key(character)] = cast.speaker
            on_default.append(character)
    chosen = voice.cast_voices(on_default, speakers_of(default_model), wanted) if on_default else {}
    spoken |= {c: SpokenVoice(model=default_model, speaker=s) for c, s in chosen.items()}
    return {c: spoken[c] for c in dict.fromkeys(characters)}


def _check_speaker(character: str, model: str, speaker: int, speakers_of: Callable[[str], int]) -> None:
    speakers = speakers_of(model)
    if not 0 <= speaker < max(speakers, 1):
        raise JobRefused(f"{character} is cast to speaker {speaker} of {model}, which has {max(speakers, 1)}")
