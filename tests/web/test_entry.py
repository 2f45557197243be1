"""Entry from a Prolific link: checked ids, one participant per person, resume anywhere, quotas."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from journey_bots import SLUG, STRATA, STUDY_ID, Bot, completion_code, pid, read_form, session_id, start_url
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEvent, Participant, QuotaCell, Visit

GOOD = {"PROLIFIC_PID": pid(1), "STUDY_ID": STUDY_ID, "SESSION_ID": session_id(1)}


def _count(session_factory: sessionmaker[Session], model: type) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("params", "problem"), [
    ({**GOOD, "PROLIFIC_PID": "12345"}, "PROLIFIC_PID is not a Prolific id (24 characters, 0-9 and a-f)"),
    ({**GOOD, "PROLIFIC_PID": "{{%PROLIFIC_PID%}}"}, "PROLIFIC_PID is not a Prolific id"),
    ({**GOOD, "STUDY_ID": "z" * 24}, "STUDY_ID is not a Prolific id"),
    ({"STUDY_ID": STUDY_ID, "SESSION_ID": session_id(1)}, "PROLIFIC_PID is missing"),
    ({}, "PROLIFIC_PID is missing; STUDY_ID is missing; SESSION_ID is missing"),
])
def test_a_malformed_link_gets_a_clear_page_and_nothing_is_stored(
        client: TestClient, session_factory: sessionmaker[Session], params: dict[str, str], problem: str) -> None:
    response = client.get(f"/study/{SLUG}/start", params=params)
    assert response.status_code == 400
    assert "This study link is not valid" in response.text
    assert problem in response.text
    assert "Nothing has been saved." in response.text
    assert _count(session_factory, Participant) == 0
    assert _count(session_factory, AuditEvent) == 0


def test_an_unknown_study_is_not_found(client: TestClient) -> None:
    response = client.get("/study/nosuchstudy/start", params=GOOD)
    assert response.status_code == 404
    assert "There is no study at this address" in response.text


def test_opening_the_link_creates_nobody_until_start_is_pressed(client: TestClient,
                                                                session_factory: sessionmaker[Session]) -> None:
    response = client.get(start_url(pid(1), strata={"gender": "female", "race": "white"}))
    assert response.status_code == 200
    form = read_form(response.text)
    assert form.heading == "Welcome"
    asked = sorted(name.removeprefix("stratum.") for name in form.radios)
    assert asked == sorted(set(STRATA) - {"gender", "race"})
    assert _count(session_factory, Participant) == 0, "link scanners and previews must not take a place"


def test_the_welcome_page_asks_again_for_unanswered_questions(client: TestClient,
                                                              session_factory: sessionmaker[Session]) -> None:
    form = read_form(client.get(start_url(pid(1), strata={})).text)
    response = client.post(form.action, data={**form.hidden, "start": "1", "stratum.gender": "male"})
    assert response.status_code == 422
    assert "Please answer every question" in response.text
    again = read_form(response.text)
    assert "stratum.age_band" in again.radios
    assert 'value="male" checked' in response.text
    assert _count(session_factory, Participant) == 0
    answers = {name: values[0] for name, values in again.radios.items()} | {"stratum.gender": "male"}
    response = client.post(again.action, data={**again.hidden, **answers, "start": "1"})
    assert response.status_code == 200
    assert str(response.url).endswith(f"/study/{SLUG}/step")
    with session_factory() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.status == "active"
        assert participant.strata["gender"] == "male"
        assert set(participant.strata) == set(STRATA)


def test_the_same_link_again_resumes_on_another_device(client: TestClient, make_client,  # type: ignore[no-untyped-def]
                                                       session_factory: sessionmaker[Session]) -> None:
    bot = Bot(client, pid(3))
    page = bot.enter()
    for _ in range(5):  # consent, mic check, interview, two GSS pages
        page = bot.step(page)
    heading = read_form(page.text).heading
    other_device = make_client()
    resumed = other_device.get(start_url(pid(3)))
    assert resumed.status_code == 200
    assert read_form(resumed.text).heading == heading
    assert "Page 6 of 38" in resumed.text
    assert _count(session_factory, Participant) == 1
    assert _count(session_factory, Visit) == 1
    with session_factory() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[0] == "participant.enter" and actions[-1] == "participant.resume"


def test_a_finished_participant_is_told_so_and_given_the_code(client: TestClient, make_client) -> None:  # type: ignore[no-untyped-def]
    bot = Bot(client, pid(4))
    bot.run(bot.enter())
    again = make_client().get(start_url(pid(4)))
    assert again.status_code == 200
    assert "You have already finished this part of the study." in again.text
    assert completion_code(again.text) == "C5SBD7ZG"
    assert "https://app.prolific.com/submissions/complete?cc=C5SBD7ZG" in again.text


def test_a_full_cell_screens_out_with_the_screened_out_code(client: TestClient, make_client,  # type: ignore[no-untyped-def]
                                                            session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        session.execute(update(QuotaCell).where(QuotaCell.stratum == "gender", QuotaCell.cell == "female")
                        .values(capacity=1))
    assert Bot(client, pid(1)).enter().status_code == 200
    response = Bot(make_client(), pid(2)).enter()
    assert response.status_code == 200
    assert "already has enough participants with answers like yours" in response.text
    assert 'content="5;url=https://app.prolific.com/submissions/complete?cc=LGY883WH"' in response.text
    with session_factory() as session:
        late = session.scalars(select(Participant).where(Participant.prolific_pid == pid(2))).one()
        assert (late.status, late.strata) == ("screened_out", {})
        assert session.scalar(select(func.count()).select_from(Visit).where(Visit.participant_id == late.id)) == 0
        female = session.scalars(select(QuotaCell).where(QuotaCell.stratum == "gender",
                                                         QuotaCell.cell == "female")).one()
        assert female.filled == 1
    # Coming back, even with other answers, does not get them in: they were screened out.
    again = Bot(make_client(), pid(2)).enter(strata={**STRATA, "gender": "male"})
    assert "already has enough participants" in again.text


def test_an_answer_in_the_link_must_be_one_of_the_cells(client: TestClient) -> None:
    response = client.get(start_url(pid(1), strata={**STRATA, "gender": "robot"}))
    assert response.status_code == 400
    assert "'robot' is not one of the answers to 'What is your gender?'" in response.text.replace("&#39;", "'")


def test_the_study_row_comes_from_the_protocol(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    from storage.models import Study

    with session_factory() as session:
        study = session.scalars(select(Study)).one()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert (study.slug, study.protocol_version, study.protocol_hash) == ("park2024", "1.0.0", runtime.protocol_hash)
