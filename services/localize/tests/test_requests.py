"""The localize service's requests and its steps: a localization goes to the localizer, an
animatic to the editor, and every request type on its topic has a step."""

from __future__ import annotations

from helix.events import AnimaticRequested, JobFailed, LocalizeRequested, Topic, models_on
from helix_localize.animatic import Editor
from helix_localize.localize import Localizer
from helix_localize.requests import steps
from helix_localize.settings import LocalizeSettings
from helix_localize.translation import Translator
from helix_localize.voice import Speaker

from .conftest import DUB, LOCALIZATION, PRODUCTION, Desk


def test_each_request_type_on_the_topic_goes_to_its_step(desk: Desk) -> None:
    localizer = Localizer(desk.documents, Translator(), Speaker(), LocalizeSettings())
    editor = Editor(desk.documents, desk.approvals)
    routed = steps(localizer, editor)
    assert set(routed) == set(models_on(Topic.LOCALIZE_REQUESTS))
    assert routed[LocalizeRequested] == localizer.run and routed[AnimaticRequested] == editor.cut


async def test_an_animatic_request_is_the_editors_to_answer(desk: Desk) -> None:
    routed = steps(Localizer(desk.documents, Translator(), Speaker(), LocalizeSettings()), Editor(desk.documents, desk.approvals))
    request = AnimaticRequested(production_id=PRODUCTION, job_id="anim-1", requested_by={"subject": "dana"},
                                localization_job_id=LOCALIZATION, locale="de-DE")
    failed = await desk.run(request, routed[AnimaticRequested])
    assert isinstance(failed, JobFailed) and failed.error == f"the dubbed track {DUB} is not approved"
