"""A production's voice casting through the review service: anyone assigned reads it; directors
and admins set it (one voice per character and locale, else 422), and the answer lists the
performers without a voice consent and the newest dubs the change makes stale."""

from __future__ import annotations

import hashlib

import grpc
import httpx

from helix.assets import UploadKey
from helix.casting import Casting, CastingEntry, ModelVoice, PerformerVoice, SeriesCasting
from helix.events import AssetKind, ReferenceUploaded, ReferenceView, SpokenVoice, VoiceoverSummary
from helix.v1 import review_pb2
from helix_gateway.state import GatewayState

from ..conftest import add_asset, add_production, auth, bus_of, review_of, rpc_error, store_of

ANN = PerformerVoice(performer="Ann Lee", model="voices/ann-lee")
DIRECTOR = auth("dana", "director", productions=["lighthouse"])


def answer(*entries: CastingEntry, consents: dict[str, str] | None = None) -> review_pb2.Casting:
    casting = Casting(production_id="lighthouse", entries=list(entries))
    return review_pb2.Casting(production_id="lighthouse", casting_json=casting.model_dump_json(), consents=consents or {})


async def dub(gateway: GatewayState, asset_id: str, locale: str, version: int = 1, **voices: SpokenVoice) -> None:
    summary = VoiceoverSummary(locale=locale, voices=voices)
    await add_asset(gateway, asset_id=asset_id, version=version, kind=AssetKind.VOICEOVER, media_type="audio/wav",
                    summary=summary.model_dump(mode="json"))


async def test_anyone_assigned_reads_the_casting_with_its_consents(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["get_casting"] = answer(CastingEntry(character="MARA", voice=ANN),
                                                       CastingEntry(character="JONAS", voice=PerformerVoice(performer="Bo", model="m")),
                                                       consents={"Ann Lee": "c1"})
    response = await client.get("/productions/lighthouse/casting", headers=auth("rhea", "reviewer", productions=["lighthouse"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [e["character"] for e in body["entries"]] == ["MARA", "JONAS"]
    assert body["consents"] == {"Ann Lee": "c1"} and body["unconsented"] == ["Bo"]
    assert review_of(gateway).requests("get_casting")[0].production_id == "lighthouse"
    elsewhere = await client.get("/productions/other/casting", headers=auth("rhea", "reviewer", productions=["lighthouse"]))
    assert elsewhere.status_code == 403


async def test_a_director_sets_it_and_sees_the_dubs_it_makes_stale(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway)
    default = SpokenVoice(model="tiny-vits", speaker=1)
    await dub(gateway, "de-dub", "de-DE", MARA=default, JONAS=default)
    await dub(gateway, "de-dub", "de-DE", 2, MARA=default, JONAS=default)
    await dub(gateway, "fr-dub", "fr-FR", MARA=default)
    await dub(gateway, "fr-jonas", "fr-FR", JONAS=default)
    review_of(gateway).answers["get_casting"] = answer(CastingEntry(character="JONAS", voice=ModelVoice(speaker=2)))
    new = [CastingEntry(character="MARA", locale="de", voice=ANN), CastingEntry(character="JONAS", voice=ModelVoice(speaker=2))]
    review_of(gateway).answers["set_casting"] = answer(*new)
    response = await client.put("/productions/lighthouse/casting", json={"entries": [e.model_dump(mode="json") for e in new]},
                                headers=DIRECTOR)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stale_dubs"] == [{"asset_id": "de-dub", "version": 2, "locale": "de-DE", "characters": ["MARA"]}]
    assert body["unconsented"] == ["Ann Lee"]
    [sent] = review_of(gateway).requests("set_casting")
    assert sent.actor.subject == "dana" and Casting.model_validate_json(sent.casting_json).entries == new


async def test_bad_castings_and_callers_are_refused(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway)
    twice = {"entries": [{"character": "MARA", "voice": {"kind": "model"}}, {"character": "Mara", "voice": {"kind": "model", "speaker": 1}}]}
    assert (await client.put("/productions/lighthouse/casting", json=twice, headers=DIRECTOR)).status_code == 422
    no_model = {"entries": [{"character": "MARA", "voice": {"kind": "performer", "performer": "Ann Lee"}}]}
    assert (await client.put("/productions/lighthouse/casting", json=no_model, headers=DIRECTOR)).status_code == 422
    fine = {"entries": [{"character": "MARA", "voice": {"kind": "model"}}]}
    assert (await client.put("/productions/lighthouse/casting", json=fine,
                             headers=auth("rhea", "reviewer", productions=["lighthouse"]))).status_code == 403
    assert (await client.put("/productions/nowhere/casting", json=fine, headers=auth("root", "admin"))).status_code == 404
    review_of(gateway).errors["get_casting"] = rpc_error(grpc.StatusCode.UNAVAILABLE, "review is away")
    assert (await client.put("/productions/lighthouse/casting", json=fine, headers=DIRECTOR)).status_code == 503
    assert review_of(gateway).requests("set_casting") == []


async def test_the_cast_is_read_by_anyone_assigned(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["get_casting"] = answer(CastingEntry(character="MARA", voice=ANN), consents={"Ann Lee": "c1"})
    response = await client.get("/productions/lighthouse/cast", headers=auth("rhea", "reviewer", productions=["lighthouse"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(m["name"], m["voices"][0]["voice"]["performer"]) for m in body["members"]] == [("MARA", "Ann Lee")]
    assert body["unconsented"] == []
    assert (await client.get("/productions/other/cast", headers=auth("rhea", "reviewer", productions=["lighthouse"]))).status_code == 403


PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
UPLOAD = "/productions/lighthouse/cast/references?script_asset_id=script-j1-script&subject=MARA&view=front&filename=mara.png"


async def test_a_directors_own_view_is_staged_and_requested(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway)
    response = await client.post(UPLOAD, content=PNG, headers={**DIRECTOR, "Content-Type": "image/png"})
    assert response.status_code == 202, response.text
    [event] = bus_of(gateway).published
    request = event.data
    assert isinstance(request, ReferenceUploaded) and request.job_id == response.json()["job_id"]
    assert (request.subject, request.view, request.subject_kind, request.script_asset_id) == ("MARA", ReferenceView.FRONT, "character",
                                                                                            "script-j1-script")
    assert request.upload.sha256 == hashlib.sha256(PNG).hexdigest() and request.upload.filename == "mara.png"
    assert store_of(gateway).staged(UploadKey.parse(request.upload.key), request.upload.sha256) == PNG, "the bytes, staged as sent"
    job = await gateway.read_model.job(request.job_id)
    assert job is not None and job.request_type == ReferenceUploaded.event_type and job.requested_by == "dana"


async def test_what_is_not_an_image_of_the_cast_is_refused_before_anything_is_staged(client: httpx.AsyncClient,
                                                                                      gateway: GatewayState) -> None:
    await add_production(gateway)
    cases = [
        (UPLOAD, PNG, "image/gif", 415, "a view of the cast is one of image/png"),
        (UPLOAD, PNG, "image/jpeg", 415, "the bytes are not image/jpeg"),
        (UPLOAD, b"", "image/png", 400, "the body is empty"),
        (UPLOAD.replace("view=front", "view=back"), PNG, "image/png", 422, "view"),
        (UPLOAD.replace("/lighthouse/", "/elsewhere/"), PNG, "image/png", 403, ""),
    ]
    for url, body, media_type, code, detail in cases:
        response = await client.post(url, content=body, headers={**DIRECTOR, "Content-Type": media_type})
        assert response.status_code == code and detail in response.text, (url, media_type, response.text)
    reviewer = await client.post(UPLOAD, content=PNG, headers={**auth("rhea", "reviewer", productions=["lighthouse"]),
                                                               "Content-Type": "image/png"})
    assert reviewer.status_code == 403
    assert not bus_of(gateway).published and not store_of(gateway).uploads


def series_answer(*entries: CastingEntry, productions: tuple[str, ...] = ("lighthouse",)) -> review_pb2.SeriesCasting:
    series = SeriesCasting(series_id="harbour", entries=list(entries))
    return review_pb2.SeriesCasting(series_id="harbour", series_json=series.model_dump_json(), production_ids=list(productions))


def episode_answer(*series_entries: CastingEntry) -> review_pb2.Casting:
    casting = Casting(production_id="lighthouse", series_id="harbour", entries=[CastingEntry(character="TOM", voice=ModelVoice(speaker=1))])
    series = SeriesCasting(series_id="harbour", entries=list(series_entries))
    return review_pb2.Casting(production_id="lighthouse", casting_json=casting.model_dump_json(), series_json=series.model_dump_json())


async def test_a_production_shows_what_its_series_casts_for_it(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["get_casting"] = episode_answer(CastingEntry(character="MARA", voice=ANN),
                                                               CastingEntry(character="TOM", voice=ModelVoice(speaker=8)))
    body = (await client.get("/productions/lighthouse/casting", headers=DIRECTOR)).json()
    assert body["series_id"] == "harbour" and [e["character"] for e in body["entries"]] == ["TOM"]
    assert [e["character"] for e in body["inherited"]] == ["MARA"], "TOM is the episode's own: the series' TOM does not apply"
    assert body["unconsented"] == ["Ann Lee"], "a performer the series casts needs a consent for this production too"


async def test_an_admin_sets_a_series_casting_and_sees_each_episodes_stale_dubs(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway)
    default = SpokenVoice(model="tiny-vits", speaker=1)
    await dub(gateway, "de-dub", "de-DE", MARA=default, TOM=default)
    mara = CastingEntry(character="MARA", voice=ModelVoice(speaker=3))
    review = review_of(gateway)
    review.answers["get_series_casting"] = series_answer()
    review.answers["set_series_casting"] = series_answer(mara)
    review.answers["get_casting"] = [episode_answer(), episode_answer(mara)]  # before and after the change
    response = await client.put("/series/harbour/casting", json={"entries": [mara.model_dump(mode="json")]},
                                headers=auth("root", "admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["production_ids"] == ["lighthouse"] and body["entries"][0]["character"] == "MARA"
    assert body["stale_dubs"] == {"lighthouse": [{"asset_id": "de-dub", "version": 1, "locale": "de-DE", "characters": ["MARA"]}]}
    [sent] = review.requests("set_series_casting")
    assert sent.actor.subject == "root" and SeriesCasting.model_validate_json(sent.series_json).entries == [mara]
    assert (await client.put("/series/harbour/casting", json={"entries": []}, headers=DIRECTOR)).status_code == 403, "admins only"
    assert (await client.put("/series/bad id/casting", json={"entries": []}, headers=auth("root", "admin"))).status_code == 422
    review.answers["get_series_casting"] = series_answer(mara)
    read = await client.get("/series/harbour/casting", headers=DIRECTOR)
    assert read.status_code == 200 and read.json()["entries"][0]["voice"]["speaker"] == 3
    assert (await client.get("/series/harbour/casting", headers=auth("rhea", "reviewer", productions=["lighthouse"]))).status_code == 403
