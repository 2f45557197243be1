"""Withdrawal is offered on every page, asks once, and leaves the participant's data erased."""

from __future__ import annotations

from fastapi.testclient import TestClient
from journey_bots import SLUG, Bot, pid, read_form
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEvent, Consent, Participant, Response

BASE = f"/study/{SLUG}"


def test_every_page_offers_withdrawal(client: TestClient) -> None:
    bot = Bot(client, pid(1))
    page = bot.enter()
    while "Your completion code is" not in page.text:
        assert f'href="{BASE}/withdraw">Leave the study (withdraw)</a>' in page.text, read_form(page.text).heading
        page = bot.step(page)


def test_withdrawing_erases_answers_and_ends_the_journey(client: TestClient, make_client,  # type: ignore[no-untyped-def]
                                                         session_factory: sessionmaker[Session]) -> None:
    bot = Bot(client, pid(1))
    page = bot.enter()
    for _ in range(6):
        page = bot.step(page)
    with session_factory() as session:
        assert session.scalar(select(func.count(Response.id))) == 30
    ask = client.get(f"{BASE}/withdraw")
    assert ask.status_code == 200
    assert "your recordings, your transcript and your answers are deleted" in ask.text
    form = read_form(ask.text)
    done = client.post(form.action, data={**form.hidden, "reason": "Too long for me"})
    assert done.status_code == 200
    assert "You have withdrawn from the study." in done.text
    with session_factory() as session:
        participant = session.scalars(select(Participant)).one()
        assert (participant.status, participant.withdrawal_reason) == ("withdrawn", "Too long for me")
        assert session.scalar(select(func.count(Response.id))) == 0
        assert session.scalars(select(Consent.withdrawn_at)).one() == participant.withdrawn_at
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "participant.withdraw")).one()
    # Nothing more can be answered, from this browser or another.
    assert "You have withdrawn from the study." in client.get(f"{BASE}/step").text
    assert client.post(f"{BASE}/step", data=bot.answers(read_form(page.text))).status_code == 200
    assert "You have withdrawn from the study." in Bot(make_client(), pid(1)).enter().text
    with session_factory() as session:
        assert session.scalar(select(func.count(Response.id))) == 0


def test_a_forged_withdrawal_changes_nothing(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot = Bot(client, pid(1))
    page_token = read_form(bot.enter().text).token
    for data in ({"token": page_token}, {"token": "forged"}, {"reason": "no token"}):
        assert client.post(f"{BASE}/withdraw", data=data).status_code == 400
    form = read_form(client.get(f"{BASE}/withdraw").text)
    assert client.post(f"{BASE}/withdraw", data={**form.hidden, "reason": "x", "also": "y"}).status_code == 400
    with session_factory() as session:
        assert session.scalars(select(Participant.status)).one() == "active"


def test_withdrawing_in_another_tab_during_a_battery_page_leaves_nothing_of_it(
        client: TestClient, make_client, session_factory: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    from storage.blobs import BlobStore
    from tests.withdrawal_policy import assert_withdrawal_kept_only_what_it_may

    bot = Bot(client, pid(1))
    page = bot.enter()
    for _ in range(4):  # consent, mic check, interview, the first GSS page
        page = bot.step(page)
    shown = read_form(page.text)  # a GSS page, on screen in this tab
    form = read_form(client.get(f"{BASE}/withdraw").text)
    assert client.post(form.action, data={**form.hidden, "reason": ""}).status_code == 200
    late = client.post(f"{BASE}/step", data=bot.answers(shown))
    assert "You have withdrawn from the study." in late.text
    with session_factory() as session:
        participant_id = session.scalars(select(Participant.id)).one()
        assert_withdrawal_kept_only_what_it_may(session, participant_id, BlobStore(client.app.state.blob_store.root))
