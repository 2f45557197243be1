"""Participant pages take their words about the study from its files: the interviewer's name and the
interview's length from the interview guide, the section headings from the instruments."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from journey_bots import SLUG, Bot, pid, read_form

from protocols import Study
from voxbank.settings import Settings
from voxbank.wiring import web_app
from web.interview_facts import spoken_duration


def _with(study: Study, *, interviewer: str, keep_questions: int, gss_heading: str | None) -> Study:
    """The study with its guide's interviewer renamed and cut to its first questions, and a GSS heading."""
    name = study.spec.interview_guide
    assert name is not None
    loaded = study.interview_guides[name]
    module = loaded.data.modules[0]
    short = module.model_copy(update={"questions": module.questions[:keep_questions]})
    guide = loaded.data.model_copy(update={"interviewer_name": interviewer, "modules": [short]})
    gss = study.instruments["gss_core"]
    instrument = gss.data.model_copy(update={"heading": gss_heading})
    guides = {**study.interview_guides, name: dataclasses.replace(loaded, data=guide)}
    instruments = {**study.instruments, "gss_core": dataclasses.replace(gss, data=instrument)}
    return dataclasses.replace(study, interview_guides=guides, instruments=instruments)


@pytest.fixture
def renamed(settings: Settings, protocol_study: Study) -> Iterator[tuple[TestClient, Study]]:
    study = _with(protocol_study, interviewer="Marcus", keep_questions=3, gss_heading=None)
    with TestClient(web_app(settings, study=study), follow_redirects=True) as client:
        yield client, study


def test_budgets_are_said_the_way_a_person_would() -> None:
    assert [spoken_duration(s) for s in (330, 3600, 5400, 7130, 9000)] == [
        "about 5 minutes", "about an hour", "about an hour and a half", "about two hours",
        "about two and a half hours"]


def test_the_interview_step_names_the_guides_interviewer_and_its_length(renamed) -> None:  # type: ignore[no-untyped-def]
    client, study = renamed
    guide = study.interview_guide
    assert guide is not None
    bot = Bot(client, pid(1), end_interview=lambda _pid: None)
    page = bot.enter()
    for _ in range(2):  # consent, microphone check
        page = bot.step(page)
    assert read_form(page.text).heading == "The interview"
    said = f"Now you will talk with Marcus, the AI interviewer, by voice, for {spoken_duration(guide.total_seconds)}."
    assert said in page.text and "Isabella" not in page.text
    interview = client.get(f"/study/{SLUG}/interview")
    assert "You will talk with Marcus, an AI interviewer" in interview.text and "Isabella" not in interview.text


def test_an_instrument_without_a_heading_is_headed_questions(renamed) -> None:  # type: ignore[no-untyped-def]
    client, _study = renamed
    bot = Bot(client, pid(2))
    page = bot.enter()
    headings = []
    for _ in range(4):  # consent, microphone check, interview, then the GSS's first page
        page = bot.step(page)
        headings.append(read_form(page.text).heading)
    assert headings[-1] == "Questions"
