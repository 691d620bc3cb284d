"""What localization starts from: only the approved version of an assembled script, its lines of
dialogue in script order with their scenes, and the names translation must keep (characters,
places and the glossary, each once whatever its case)."""

from __future__ import annotations

import pytest

from helix.events import AssetKind
from helix.generation import JobRefused
from helix.generation.reader import NotApproved
from helix_localize.source import ScriptLine, approved_script, dialogue, locked_terms
from helix_localize.terms import LockedTerm

from .conftest import PRODUCTION, Desk, script_of

SCENES = {"s1": [("ALGERNON", "Tea, Lane?"), ("LANE", "Yes, sir.")], "s2": [], "s3": [("JACK", "Where is Algernon?")]}


async def test_the_approved_version_of_the_script_is_read_not_the_newest(desk: Desk) -> None:
    first = script_of(SCENES)
    asset_id = desk.put_script(first)
    desk.put_script(script_of({"s1": [("LANE", "A second draft.")]}))
    with pytest.raises(NotApproved, match=f"script {asset_id} is not approved"):
        await approved_script(desk.documents, PRODUCTION, asset_id)
    await desk.approve(asset_id, AssetKind.SCRIPT, version=1)
    read = await approved_script(desk.documents, PRODUCTION, asset_id)
    assert read.version == 1 and read.asset_id == asset_id and read.document.content == first


@pytest.mark.parametrize("asset_id", ["script-earn-title", "script-earn-dialogue-s1", "frame-job-1-s1-shot1", "an-upload"])
async def test_anything_but_an_assembled_script_is_refused(desk: Desk, asset_id: str) -> None:
    with pytest.raises(JobRefused, match=f"{asset_id} is not an assembled script"):
        await approved_script(desk.documents, PRODUCTION, asset_id)


def test_the_dialogue_is_every_line_in_script_order_with_its_scene() -> None:
    assert dialogue(script_of(SCENES)) == [ScriptLine("s1-l1", "s1", "ALGERNON", "Tea, Lane?"), ScriptLine("s1-l2", "s1", "LANE", "Yes, sir."),
                                           ScriptLine("s3-l1", "s3", "JACK", "Where is Algernon?")]
    assert dialogue(script_of({"s1": []})) == []


def test_names_places_and_glossary_terms_are_locked_once_each() -> None:
    terms = locked_terms(script_of(SCENES), ["cucumber sandwiches", "  ", "half moon street", "Lane"])
    assert [t.text.lower() for t in terms] == ["algernon", "lane", "jack", "half moon street", "cucumber sandwiches"], "in order, once each"
    assert terms[0] == LockedTerm("ALGERNON", "character") and terms[4] == LockedTerm("cucumber sandwiches", "glossary")
    assert locked_terms(script_of(SCENES), [])[-1] == LockedTerm("Half Moon Street", "place")
