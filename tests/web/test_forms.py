"""Tampered, forged, replayed and doubled submissions: a clear 4xx and nothing stored wrongly."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi.testclient import TestClient
from journey_bots import SLUG, Bot, FormPage, pid, read_form
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import GameDecision, PageView, Response, Visit

STEP = f"/study/{SLUG}/step"


def _at_first_gss_page(client: TestClient) -> tuple[Bot, FormPage]:
    bot = Bot(client, pid(1))
    page = bot.enter()
    for _ in range(3):
        page = bot.step(page)
    form = read_form(page.text)
    assert form.heading == "Your views and your life"
    return bot, form


def _counts(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_factory() as session:
        responses = int(session.scalar(select(func.count(Response.id))) or 0)
        position = session.scalars(select(Visit.position)).one()
    return responses, position


def test_a_page_is_saved_once_with_order_and_timing(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot, form = _at_first_gss_page(client)
    response = client.post(STEP, data=bot.answers(form))
    assert response.status_code == 200
    with session_factory() as session:
        rows = session.scalars(select(Response).order_by(Response.presentation_order)).all()
        view = session.scalars(select(PageView).where(PageView.position == 3)).one()
    assert [r.presentation_order for r in rows] == list(range(1, 11))
    assert [r.item_id for r in rows][:3] == ["natspac", "natenvir", "natheal"]
    assert all(r.instrument == "gss_core" and r.wave == 1 for r in rows)
    assert all(r.shown_at == view.first_shown_at and r.answered_at == view.submitted_at for r in rows)
    assert all(r.response_ms == view.duration_ms and r.response_ms >= 0 for r in rows)
    assert rows[0].protocol_hash == client.app.state.runtime.instrument_hash("gss_core")  # type: ignore[attr-defined]
    assert view.signals["answered"] == 10
    assert view.signals["speeding"] is True  # a bot answers ten questions in milliseconds
    assert view.signals["straightlining"] is True  # ... and always picks the first option


def test_a_double_submit_or_replay_saves_once(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot, form = _at_first_gss_page(client)
    data = bot.answers(form)
    assert client.post(STEP, data=data).status_code == 200
    again = client.post(STEP, data=data)
    assert again.status_code == 200
    assert "That page had already been saved" in again.text
    assert _counts(session_factory) == (10, 4)


def test_two_tabs_on_one_page_save_one_answer_set(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot, first_tab = _at_first_gss_page(client)
    second_tab = read_form(client.get(STEP).text)
    assert second_tab.token == first_tab.token  # the same page, the same position
    one = bot.answers(first_tab)
    other = {**bot.answers(second_tab), "a.natspac": "3"}
    assert client.post(STEP, data=other).status_code == 200
    assert "That page had already been saved" in client.post(STEP, data=one).text
    with session_factory() as session:
        assert session.scalars(select(Response.value_number).where(Response.item_id == "natspac")).all() == [3.0]
    assert _counts(session_factory) == (10, 4)


def test_concurrent_double_clicks_save_once(client: TestClient, make_client: Callable[[], TestClient],
                                            session_factory: sessionmaker[Session]) -> None:
    bot, form = _at_first_gss_page(client)
    data = bot.answers(form)
    statuses: list[int] = []

    def click() -> None:
        twin = make_client()
        twin.cookies.update(client.cookies)
        statuses.append(twin.post(STEP, data=data).status_code)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4
    assert _counts(session_factory) == (10, 4)


def test_tampered_forms_are_refused_and_store_nothing(client: TestClient,
                                                      session_factory: sessionmaker[Session]) -> None:
    bot, form = _at_first_gss_page(client)
    good = bot.answers(form)
    cases = {
        "unknown item": ({**good, "a.not_an_item": "1"}, "a field this page does not have ('a.not_an_item')"),
        "item of another page": ({**good, "a.sibs": "2"}, "a field this page does not have ('a.sibs')"),
        "impossible code": ({**good, "a.natspac": "7"}, "The answer to 'natspac' is not one of its options"),
        "extra field": ({**good, "participant_id": "1"}, "a field this page does not have ('participant_id')"),
    }
    for name, (data, message) in cases.items():
        response = client.post(STEP, data=data)
        assert response.status_code == 400, name
        assert "This form could not be accepted" in response.text
        assert message in response.text.replace("&#39;", "'"), name
    assert _counts(session_factory) == (0, 3)


def test_forged_or_missing_tokens_are_refused(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot, form = _at_first_gss_page(client)
    good = bot.answers(form)
    signer = client.app.state.signer  # type: ignore[attr-defined]
    with session_factory() as session:
        visit_id = session.scalars(select(Visit.id)).one()
    for token, status, text in (
        ("", 400, "arrived without its security token"),
        ("not-a-token", 400, "does not check out"),
        (good["token"][:-2] + "xx", 400, "does not check out"),
        (signer.form_token(visit_id, 3, "withdraw"), 400, "is not for this page"),
        (signer.form_token(visit_id + 1, 3), 403, "made for another participant"),
    ):
        response = client.post(STEP, data={**good, "token": token})
        assert response.status_code == status, token
        assert text in response.text
    assert _counts(session_factory) == (0, 3)
    # A genuine token for a page not yet reached cannot skip ahead: it is simply not the current page.
    ahead = client.post(STEP, data={**good, "token": signer.form_token(visit_id, 9)})
    assert "That page had already been saved" in ahead.text
    assert _counts(session_factory) == (0, 3)


def test_out_of_range_numbers_are_shown_again_with_the_answers_kept(client: TestClient,
                                                                    session_factory: sessionmaker[Session]) -> None:
    bot = Bot(client, pid(1))
    page = bot.enter()
    while "a.age" not in read_form(page.text).numbers:
        page = bot.step(page)
    form = read_form(page.text)
    before = _counts(session_factory)
    data = {**bot.answers(form), "a.age": "150"}
    response = client.post(STEP, data=data)
    assert response.status_code == 422
    assert "Please enter a number from 18 to 89." in response.text
    assert 'value="150"' in response.text
    assert _counts(session_factory) == before
    fixed = client.post(STEP, data={**data, "a.age": "47", "token": read_form(response.text).token})
    assert fixed.status_code == 200
    with session_factory() as session:
        assert session.scalars(select(Response.value_number).where(Response.item_id == "age")).one() == 47.0


def test_blank_answers_are_asked_about_once_then_stored_as_skipped(client: TestClient,
                                                                   session_factory: sessionmaker[Session]) -> None:
    bot, form = _at_first_gss_page(client)
    data = {k: v for k, v in bot.answers(form).items() if k not in ("a.natspac", "a.natheal")}
    response = client.post(STEP, data=data)
    assert response.status_code == 422
    assert "You left 2 questions unanswered" in response.text
    assert _counts(session_factory) == (0, 3)
    confirm = read_form(response.text)
    assert confirm.hidden["skip_ok"] == "1"
    assert client.post(STEP, data={**data, **confirm.hidden}).status_code == 200
    with session_factory() as session:
        skipped = session.scalars(select(Response).where(Response.value_number.is_(None))).all()
    assert sorted((r.item_id, r.missing) for r in skipped) == [("natheal", "NA"), ("natspac", "NA")]
    assert _counts(session_factory) == (10, 4)


def test_a_question_that_does_not_apply_is_stored_as_iap_not_as_an_answer(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot, form = _at_first_gss_page(client)
    bot.choose = lambda name, values: "-100" if name == "a.hapmar" else values[0]
    response = client.post(STEP, data=bot.answers(form))
    while "a.hapmar" not in read_form(response.text).radios:
        assert "a.natspac" not in read_form(response.text).radios and bot.pages < 20
        response = bot.step(response)
    assert "I am not married" in response.text
    bot.step(response)
    with session_factory() as session:
        rows = {r.item_id: r for r in session.scalars(select(Response).where(Response.instrument == "gss_core"))}
    assert (rows["hapmar"].value_number, rows["hapmar"].missing) == (-100.0, "IAP")
    assert (rows["happy"].value_number, rows["happy"].missing) == (1.0, None)  # an answer has no missing code


def test_a_game_decision_is_checked_on_the_server(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot = Bot(client, pid(1))
    page = bot.enter()
    while not read_form(page.text).heading.startswith("Money game"):
        page = bot.step(page)
    form = read_form(page.text)
    field = next(iter(form.radios))
    too_much = client.post(STEP, data={**bot.answers(form), field: "99"})
    assert too_much.status_code == 400
    missing = client.post(STEP, data={k: v for k, v in bot.answers(form).items() if k != field})
    assert missing.status_code == 422
    assert "this decision is needed to continue" in missing.text
    with session_factory() as session:
        assert session.scalar(select(func.count(GameDecision.id))) == 0


def test_a_refresh_shows_the_same_bfi_order(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot = Bot(client, pid(1))
    page = bot.enter()
    while read_form(page.text).heading != "How you see yourself":
        page = bot.step(page)
    first = list(read_form(page.text).radios)
    again = list(read_form(client.get(STEP).text).radios)
    assert first == again
    with session_factory() as session:
        plan = session.scalars(select(Visit.plan)).one()
    assert [name.removeprefix("a.") for name in first] == plan["item_orders"]["bfi44"][:9]
    assert plan["item_orders"]["bfi44"] != sorted(plan["item_orders"]["bfi44"])


def test_errors_come_as_json_when_asked_for(client: TestClient) -> None:
    response = client.get(f"/study/{SLUG}/start", headers={"accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "This study link is not valid"
    assert response.json()["detail"].startswith("The link you followed is incomplete")


def test_text_the_database_cannot_store_is_cleaned_at_the_door_never_a_500(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    from storage.models import Participant

    bot = Bot(client, pid(0x77))
    page = bot.enter()
    while not read_form(page.text).textareas:
        page = bot.step(page)
    form = read_form(page.text)
    data = bot.answers(form)
    data[form.textareas[0]] = "Two friends\x00 argued about money and I helped them settle it."
    assert client.post(form.action, data=data).status_code == 200
    with session_factory() as session:
        texts = session.scalars(select(Response.value_text).where(Response.value_text.is_not(None))).all()
    assert "Two friends argued about money and I helped them settle it." in texts
    ask = read_form(client.get(f"/study/{SLUG}/withdraw").text)
    done = client.post(ask.action, data={**ask.hidden, "reason": "too\x00 long"})
    assert done.status_code == 200
    with session_factory() as session:
        assert session.scalars(select(Participant.withdrawal_reason)).one() == "too long"
