"""Shorter lines from the writer, over its gRPC API (a fake writer in process): one call for all
long lines of a dub, with the room each has, a seed the same for the same job and locale, and
the service's own token; the shortest candidate wins; a writer restarting is waited for, one
that refuses or stays away leaves the lines as they are."""

from __future__ import annotations

import grpc
import pytest

from helix.auth import Role, TokenVerifier
from helix.events import ModelRef
from helix.settings import HelixSettings
from helix_localize.adaptation import WriterShortener
from helix_localize.fitting import Line

from .conftest import PRODUCTION, SECRET, FakeWriter

SETTINGS = HelixSettings(auth_secret=SECRET)
LONG = [(Line("s1-l1", "ALGERNON", "Haben Sie gehört, was ich gespielt habe, Lane?", 1.0, 2.0, 2.5), 1.4),
        (Line("s1-l2", "LANE", "Ich hielt es nicht für höflich, zuzuhören, Sir.", 2.5, 2.6, None), 0.04)]


def shortener(address: str, *, locale: str = "de-DE", job_id: str = "loc-1", timeout_s: float = 10) -> WriterShortener:
    return WriterShortener(SETTINGS, address, production_id=PRODUCTION, locale=locale, job_id=job_id, timeout_s=timeout_s)


async def test_no_long_lines_no_call(writer: tuple[FakeWriter, str]) -> None:
    fake, address = writer
    assert await shortener(address)([]) == [] and fake.calls == []


async def test_all_long_lines_are_asked_at_once_with_their_room(writer: tuple[FakeWriter, str]) -> None:
    fake, address = writer
    await shortener(address)(LONG)
    (request, metadata), = fake.calls
    assert (request.production_id, request.market, request.candidates) == (PRODUCTION, "de-DE", 3)
    assert [(line.line_id, line.speaker, line.text) for line in request.lines] == [(n.line_id, n.speaker, n.text) for n, _ in LONG]
    assert [line.target_seconds for line in request.lines] == pytest.approx([1.4, 0.1]), "never less than a tenth of a second"
    principal = TokenVerifier(SETTINGS).verify(metadata["authorization"].removeprefix("Bearer "))
    assert principal.subject == "service:localize" and principal.productions == (PRODUCTION,)
    assert principal.roles == {Role.STUDIO_SYSTEM}


async def test_the_seed_is_the_same_for_the_same_dub_and_differs_for_another(writer: tuple[FakeWriter, str]) -> None:
    fake, address = writer
    for locale, job_id in (("de-DE", "loc-1"), ("de-DE", "loc-1"), ("es-ES", "loc-1"), ("de-DE", "loc-2")):
        await shortener(address, locale=locale, job_id=job_id)(LONG[:1])
    seeds = [request.seed for request, _ in fake.calls]
    assert seeds[0] == seeds[1] and len(set(seeds)) == 3 and all(0 < s < 2**63 for s in seeds)


async def test_the_shortest_candidate_wins_and_a_line_without_one_stays(writer: tuple[FakeWriter, str]) -> None:
    fake, address = writer
    fake.answer = lambda line: ["Gehört, Lane?", "Lane?", "Haben Sie es gehört?"] if line.line_id == "s1-l1" else []
    asking = shortener(address)
    assert await asking(LONG) == ["Lane?", None]
    assert asking.model == ModelRef(id="tiny-llama", revision="sha256:feed"), "the model that wrote them, for the dub's lineage"


async def test_a_writer_model_named_without_a_revision_is_recorded_as_unknown_revision(writer: tuple[FakeWriter, str]) -> None:
    fake, address = writer
    fake.model = "house-writer"
    fake.answer = lambda line: ["Lane?"]
    asking = shortener(address)
    await asking(LONG)
    assert asking.model == ModelRef(id="house-writer", revision="unknown")


async def test_a_writer_restarting_is_waited_for(writer: tuple[FakeWriter, str]) -> None:
    fake, address = writer
    fake.failures = [grpc.StatusCode.UNAVAILABLE]
    fake.answer = lambda line: ["Kurz."]
    assert await shortener(address)(LONG) == ["Kurz.", "Kurz."]
    assert len(fake.calls) == 2 and fake.calls[0][0] == fake.calls[1][0], "the same question again"


async def test_a_writer_that_refuses_is_not_asked_again_and_the_lines_stay(writer: tuple[FakeWriter, str]) -> None:
    fake, address = writer
    fake.failures = [grpc.StatusCode.PERMISSION_DENIED]
    asking = shortener(address)
    assert await asking(LONG) == [None, None]
    assert len(fake.calls) == 1 and asking.model is None


async def test_a_writer_away_past_the_timeout_leaves_the_lines_as_they_are(writer: tuple[FakeWriter, str]) -> None:
    fake, address = writer
    fake.failures = [grpc.StatusCode.UNAVAILABLE] * 100
    assert await shortener(address, timeout_s=1)(LONG) == [None, None]
    assert 1 <= len(fake.calls) < 100
