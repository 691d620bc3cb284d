"""Consents as personal data and likeness beyond names, through the gateway with the real review
service (PostgreSQL), broker and store: a consent's reference image is added by an admin and
embedded by the likeness encoder (the tiny CLIP image encoder of the IP-Adapter); a reviewer
assigned to production A reads none of production B's consents or reference media; a frame in A
that resembles B's performer's reference image, with no consent for 'likeness' in A, is flagged
and cannot be approved, while an unrelated frame is not; so is a voice-over in A that resembles
their reference recording (the tiny WavLM speaker encoder), while another voice is not."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from helix.bus import HelixBus
from helix.events import AssetKind
from services.review.tests.test_likeness import face, voice
from tests.conftest import make_settings
from tests.integration.gateway_harness import Stack, bearer, gateway_stack, poll, stored_asset_event

pytestmark = pytest.mark.infra


@pytest_asyncio.fixture
async def stack(infra_env: dict[str, str], postgres_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    from helix_dev.models.tiny_diffusion import build_tiny_ip_adapter
    from helix_dev.models.tiny_localize import build_tiny_speaker_encoder

    overrides = {"review_likeness_model": str(build_tiny_ip_adapter(tmp_path / "ip-adapter")), "review_likeness_threshold": 0.98,
                 "review_voice_likeness_model": str(build_tiny_speaker_encoder(tmp_path / "speaker")),
                 "review_voice_likeness_threshold": 0.999}
    async with gateway_stack(make_settings(infra_env, tmp_path), tmp_path, review_database_url=postgres_url,
                             review_overrides=overrides) as running:
        yield running


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_reference_media_stay_with_their_production_and_a_resembling_frame_is_flagged(stack: Stack) -> None:
    admin = bearer(stack.token("root", "admin"))
    async with stack.client() as client:
        client.headers.update(admin)
        a = (await client.post("/productions", json={"title": "A", "logline": "A keeper."})).json()["production_id"]
        b = (await client.post("/productions", json={"title": "B", "logline": "A sailor."})).json()["production_id"]
        ann = (await client.post("/consents", json={"performer": "Ann Lee", "scopes": ["likeness"], "production_ids": [b],
                                                    "reason": "signed for B"})).json()
        bo = (await client.post("/consents", json={"performer": "Bo Park", "scopes": ["likeness"], "production_ids": [a],
                                                   "reason": "signed for A"})).json()
        added = await client.post(f"/consents/{ann['consent_id']}/references", content=face(), headers={"Content-Type": "image/png"})
        assert added.status_code == 201, added.text
        ann_ref = added.json()
        assert ann_ref["embedded"] is True, "embedded by the likeness encoder when added"
        recording = await client.post(f"/consents/{ann['consent_id']}/references", content=voice(120), headers={"Content-Type": "audio/wav"})
        assert recording.status_code == 201 and recording.json()["embedded"] is True, recording.text
        bo_ref = (await client.post(f"/consents/{bo['consent_id']}/references", content=png(Image.new("RGB", (64, 64), (200, 30, 30))),
                                    headers={"Content-Type": "image/png"})).json()
        lying = await client.post(f"/consents/{bo['consent_id']}/references", content=b"\xff\xd8\xff not a png",
                                  headers={"Content-Type": "image/png"})
        assert lying.status_code == 422 and "not image/png" in lying.json()["detail"]

    reviewer_a = bearer(stack.token("rhea", "reviewer", productions=[a]))
    async with stack.client() as client:
        client.headers.update(reviewer_a)
        listed = (await client.get("/consents")).json()["items"]
        assert [c["performer"] for c in listed] == ["Bo Park"], "none of B's consents"
        assert [r["reference_id"] for r in listed[0]["references"]] == [bo_ref["reference_id"]]
        own = await client.get(f"/consents/{bo['consent_id']}/references/{bo_ref['reference_id']}")
        assert own.status_code == 200 and own.headers["content-type"] == "image/png" and own.content.startswith(b"\x89PNG")
        theirs = await client.get(f"/consents/{ann['consent_id']}/references/{ann_ref['reference_id']}")
        assert theirs.status_code == 404, "B's reference media are not A's reviewer's to see"

    resembling = stored_asset_event(stack.settings, a, kind=AssetKind.FRAME, content=face(size=512, shift=6), media_type="image/png",
                                    ext="png", asset_id="frame-jlike-1")
    unrelated = stored_asset_event(stack.settings, a, kind=AssetKind.FRAME, content=png(Image.new("RGB", (256, 256), (120, 170, 230))),
                                   media_type="image/png", ext="png", asset_id="frame-jlike-2")
    same_voice = stored_asset_event(stack.settings, a, kind=AssetKind.VOICEOVER, content=voice(120, seed=3, seconds=3.0, rate=48_000),
                                    media_type="audio/wav", ext="wav", asset_id="loc-de-voiceover-wav-jlike")
    other_voice = stored_asset_event(stack.settings, a, kind=AssetKind.VOICEOVER, content=voice(400), media_type="audio/wav", ext="wav",
                                     asset_id="loc-fr-voiceover-wav-jlike")
    async with HelixBus(stack.settings, source="/helix/visual") as visual:
        for event in (resembling, unrelated, same_voice, other_voice):
            await visual.publish_event(event)
    async with stack.client() as client:
        client.headers.update(admin)
        queue = await poll(client, "/reviews/queue", lambda r: len(r.json()["items"]) == 4, what="the frames' and voice-overs' review items")
        items = {i["asset"]["asset_id"]: i for i in queue.json()["items"]}
        flagged = [f for f in items["frame-jlike-1"]["findings"] if f["check"] == "likeness_resemblance"]
        assert [(f["subject"], f["open"], f["blocks_approval"]) for f in flagged] == [("Ann Lee", True, True)]
        assert "resembles Ann Lee's reference image" in flagged[0]["message"] and f"production {a}" in flagged[0]["message"]
        assert not [f for f in items["frame-jlike-2"]["findings"] if f["check"] == "likeness_resemblance"]
        heard = [f for f in items["loc-de-voiceover-wav-jlike"]["findings"] if f["check"] == "likeness_resemblance"]
        assert [(f["subject"], f["open"]) for f in heard] == [("Ann Lee", True)] and "resembles Ann Lee's voice" in heard[0]["message"]
        assert not [f for f in items["loc-fr-voiceover-wav-jlike"]["findings"] if f["check"] == "likeness_resemblance"]
        item_id = items["frame-jlike-1"]["item_id"]
        for other in items["frame-jlike-1"]["findings"]:  # e.g. no C2PA manifest on this hand-made image: resolved, so only likeness blocks
            if other["open"] and other["blocks_approval"] and other["check"] != "likeness_resemblance":
                resolved = await client.post(f"/reviews/findings/{other['finding_id']}/resolve", json={"reason": "test image"})
                assert resolved.status_code == 200, resolved.text
        claimed = await client.post("/reviews/claim", json={"item_id": item_id, "lease_seconds": 60})
        assert claimed.status_code == 200, claimed.text
        refused = await client.post(f"/reviews/items/{item_id}/decision", json={"outcome": "approved"})
        assert refused.status_code == 409 and flagged[0]["finding_id"] in refused.json()["detail"], refused.text
