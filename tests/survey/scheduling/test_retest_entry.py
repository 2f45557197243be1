"""The retest link: the same participant (by PID) enters wave 2 while its window is open, and only then."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from retest_fixtures import RETEST_STUDY, WAVE1_STUDY, add_completer, pid, submission
from sqlalchemy import func, select

from storage.models import Participant, Response, Visit, utcnow
from voxbank.wiring import web_app

DAY = timedelta(days=1)


@pytest.fixture
def browser(settings, runtime) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"prolific_retest_study_id": RETEST_STUDY})
    with TestClient(web_app(configured, study=runtime.protocol), follow_redirects=True) as client:
        yield client


def link(n: int, study: str = RETEST_STUDY, wave: int = 2) -> str:
    return f"/study/park2024/start?PROLIFIC_PID={pid(n)}&STUDY_ID={study}&SESSION_ID={submission(n, wave)}"


def test_the_retest_link_opens_wave_2_for_the_same_participant_and_stores_wave_2_answers(
        browser, session_factory, study_id) -> None:
    from journey_bots import Bot

    participant_id = add_completer(session_factory, study_id, 1, completed_at=utcnow() - 15 * DAY)
    first = browser.get(link(1))
    assert first.status_code == 200 and "Part 1 of 19" in first.text  # GSS again: no consent, no interview
    assert browser.get(link(1)).text == first.text  # the same link again resumes, nothing new is made
    done = Bot(browser, pid(1)).run(first)
    assert "Your completion code is" in done.text
    assert "This was the last part of the study" in done.text and "invite you" not in done.text
    with session_factory() as session:
        visits = session.scalars(select(Visit).where(Visit.participant_id == participant_id)
                                 .order_by(Visit.wave)).all()
        assert [(v.wave, v.status, v.prolific_study_id, v.prolific_session_id) for v in visits] == [
            (1, "completed", WAVE1_STUDY, submission(1)), (2, "completed", RETEST_STUDY, submission(1, 2))]
        assert {p["step"] for p in visits[1].plan["pages"]} == {"gss_core", "bfi44", "games", "experiments",
                                                                 "complete"}
        waves = dict(session.execute(select(Response.wave, func.count()).where(Response.visit_id == visits[1].id)
                                     .group_by(Response.wave)).all())
        assert set(waves) == {2} and waves[2] > 200
        assert session.scalar(select(func.count()).select_from(Participant)) == 1


def test_before_the_window_opens_the_participant_is_told_when_it_will(browser, session_factory, study_id) -> None:
    done = utcnow() - 10 * DAY
    add_completer(session_factory, study_id, 1, completed_at=done)
    answer = browser.get(link(1), headers={"Accept": "application/json"})
    opens = done + 14 * DAY
    assert answer.status_code == 409
    assert answer.json() == {"error": "This part of the study is not open", "detail": (
        f"Thank you for coming back. Part 2 of the study opens for you on {opens:%A} {opens.day} {opens:%B %Y} at "
        f"{opens:%H:%M} UTC; we will send you a message on Prolific when it does. Nothing has been saved.")}
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Visit).where(Visit.wave == 2)) == 0


def test_after_the_window_closed_the_link_is_refused_and_the_wave_1_link_still_shows_wave_1(
        browser, session_factory, study_id) -> None:
    add_completer(session_factory, study_id, 1, completed_at=utcnow() - 22 * DAY)
    closed = browser.get(link(1))
    assert closed.status_code == 409 and "Part 2 of the study closed on" in closed.text
    wave1 = browser.get(link(1, WAVE1_STUDY, 1))
    assert wave1.status_code == 200 and "Your completion code is" in wave1.text
    assert "The next part of the study opens 14 days after you finished this one" in wave1.text


def test_a_withdrawn_participant_cannot_start_wave_2(browser, session_factory, study_id) -> None:
    participant_id = add_completer(session_factory, study_id, 1, completed_at=utcnow() - 15 * DAY)
    with session_factory() as session, session.begin():
        session.get(Participant, participant_id).status = "withdrawn"
    answer = browser.get(link(1))
    assert "You have left the study" in answer.text
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Visit).where(Visit.wave == 2)) == 0


def test_only_the_configured_retest_study_opens_wave_2(browser, session_factory, study_id) -> None:
    add_completer(session_factory, study_id, 1, completed_at=utcnow() - 15 * DAY)
    invented = browser.get(link(1, study="d" * 24), headers={"Accept": "application/json"})
    assert invented.status_code == 409
    assert invented.json()["error"] == "This link is not for this study"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Visit).where(Visit.wave == 2)) == 0
    real = browser.get(link(1))  # the real participant is not locked out
    assert real.status_code == 200 and "Part 1 of 19" in real.text
