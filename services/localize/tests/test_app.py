"""The localize process's wiring, built without servers: the tiny models only where none are
configured, the localizer and the editor reading through the service's documents and approvals,
its two request types on its own topic, and its consumer of review decisions."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from helix.events import AnimaticRequested, LocalizeRequested, Topic, models_on
from helix.models import loading
from helix_localize.app import LocalizeApp, ensure_models
from helix_localize.settings import LocalizeSettings


def test_the_tiny_models_are_made_only_where_none_are_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    built: list[tuple[Path, dict[str, Any]]] = []
    monkeypatch.setattr(loading, "tiny_fallback", lambda folder, **how: built.append((folder, how)) or folder)
    ensure_models(LocalizeSettings())
    assert built == [(tmp_path / "models" / "tiny-marian", {"kind": "marian", "setting": "HELIX_LOCALIZE_TRANSLATION_MODELS"}),
                     (tmp_path / "models" / "tiny-vits", {"kind": "vits", "setting": "HELIX_LOCALIZE_VOICES"})]
    built.clear()
    ensure_models(LocalizeSettings(localize_voices={"de": "facebook/mms-tts-deu"}))
    assert [how["kind"] for _, how in built] == ["marian"], "configured voices are never replaced by the tiny one"


def test_a_tiny_model_named_as_the_fallback_is_made_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    built: list[Path] = []
    monkeypatch.setattr(loading, "tiny_fallback", lambda folder, **how: built.append(folder) or folder)
    ensure_models(LocalizeSettings(localize_voices={"en": "/models/vits-en", "*": str(tmp_path / "models" / "tiny-vits")}))
    assert built == [tmp_path / "models" / "tiny-marian", tmp_path / "models" / "tiny-vits"]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the espeak-ng program is not installed (make setup installs it)")
def test_an_espeak_voice_that_is_not_installed_stops_the_service_at_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "tiny_fallback", lambda folder, **how: folder)
    with pytest.raises(RuntimeError, match=r"HELIX_LOCALIZE_VOICES\['es'\] = 'espeak:klingon' cannot be used here: espeak-ng has no voice"):
        ensure_models(LocalizeSettings(localize_voices={"es": "espeak:klingon"}))
    ensure_models(LocalizeSettings(localize_voices={"es": "espeak:es"}))  # an installed one starts


@pytest.mark.skipif(shutil.which("apertium") is None, reason="the apertium program is not installed (make setup installs apertium-eng-spa)")
def test_an_apertium_pair_that_is_not_installed_stops_the_service_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "tiny_fallback", lambda folder, **how: folder)
    with pytest.raises(RuntimeError, match=r"\['en-xx'\] = 'apertium:eng-xxx' cannot be used here: Apertium has no pair 'eng-xxx'"):
        ensure_models(LocalizeSettings(localize_translation_models={"en-xx": "apertium:eng-xxx"}))


def test_the_app_wires_its_steps_reactions_and_engines(tmp_path: Path) -> None:
    # Models are loaded on first use, not when the app is built: configured paths are enough here.
    settings = LocalizeSettings(localize_translation_models={"*": "/models/marian"}, localize_voices={"*": "/models/vits"}, localize_device="cpu",
                                localize_num_beams=2, localize_max_batch=4, database_url=f"sqlite:///{tmp_path / 'localize.db'}",
                                s3_secret_key="never-used")  # the S3 and Kafka clients are made, never connected
    app = LocalizeApp(settings)
    assert app.requests_topic is Topic.LOCALIZE_REQUESTS and set(app.steps) == set(models_on(Topic.LOCALIZE_REQUESTS))
    assert app.steps[LocalizeRequested] == app.localizer.run and app.steps[AnimaticRequested] == app.editor.cut
    (requests,) = app.bus._request_consumers
    assert (requests.topic, requests.group, set(requests.handles)) == (Topic.LOCALIZE_REQUESTS.value, "localize-requests", set(app.steps))
    assert [(s.topic_names, s.group_id) for s in app.bus.broker.subscribers] == [([Topic.REVIEW_DECISIONS.value], "localize")]
    assert app.localizer.documents is app.documents and app.localizer.translator is app.translator and app.localizer.speaker is app.speaker
    assert app.editor.approvals is app.approvals and app.reactions.editor is app.editor
    assert (app.translator.num_beams, app.translator.device, app.speaker.device) == (2, "cpu", "cpu")
