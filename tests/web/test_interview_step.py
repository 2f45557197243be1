"""The interview step: the surveys wait until the participant's interview has ended."""

from __future__ import annotations

from fastapi.testclient import TestClient
from journey_bots import SLUG, Bot, pid, read_form
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Interview, Visit

NOT_ENDED = "The interview has not ended yet."


def _at_the_interview_step(client: TestClient) -> tuple[Bot, object]:
    bot = Bot(client, pid(1), end_interview=lambda _pid: None)  # the participant never speaks
    page = bot.enter()
    for _ in range(2):  # consent, microphone check
        page = bot.step(page)
    assert read_form(page.text).heading == "The interview"
    return bot, page


def _store_interview(session_factory: sessionmaker[Session], status: str) -> None:
    with session_factory() as session, session.begin():
        visit = session.scalars(select(Visit)).one()
        session.add(Interview(visit_id=visit.id, mode="voice", guide_id="avp", protocol_version="1",
                              protocol_hash="0" * 64, status=status))


def test_continuing_before_the_interview_has_ended_keeps_the_participant_on_the_interview_step(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot, page = _at_the_interview_step(client)
    _store_interview(session_factory, "in_progress")  # started, then the tab was closed
    again = bot.step(page)
    assert again.status_code == 422
    assert NOT_ENDED in again.text and read_form(again.text).heading == "The interview"
    assert client.get(f"/study/{SLUG}/progress").json()["step"] == "interview"


def test_an_interview_the_participant_asked_to_stop_lets_them_go_on_to_the_surveys(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot, page = _at_the_interview_step(client)
    _store_interview(session_factory, "stopped")
    after = bot.step(page)
    assert after.status_code == 200 and read_form(after.text).heading == "Your views and your life"
