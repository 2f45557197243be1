"""A Prolific id is not a key: resuming elsewhere needs the participant's own Prolific session, their
resume code or Prolific's word, and the cookie says nothing to its holder."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from journey_bots import SLUG, STUDY_ID, Bot, pid, read_form, session_id, start_url
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from protocols import Study
from storage.models import AuditEvent, Participant, Visit
from tests.survey.prolific_standin import TOKEN, ProlificStandIn
from voxbank.settings import Settings
from voxbank.wiring import web_app
from web.capability import cookie_name

VICTIM = pid(0x51)
ATTACKER_SESSION = "f" * 24
NOT_PROVEN = "This link does not match the Prolific session you started this study in."
NOT_THIS_STUDY = "This link does not match the Prolific study you started in."
CODE_PATTERN = re.compile(r"your resume code: <strong[^>]*>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</strong>")


def _stored_session(session_factory: sessionmaker[Session], prolific_pid: str) -> str | None:
    with session_factory() as session:
        return session.scalars(select(Visit.prolific_session_id).join(Participant)
                               .where(Participant.prolific_pid == prolific_pid)).one()


def _session_changes(session_factory: sessionmaker[Session]) -> list[dict[str, object]]:
    with session_factory() as session:
        return [e.details for e in session.scalars(select(AuditEvent).where(
            AuditEvent.action == "visit.prolific_session_changed").order_by(AuditEvent.id))]


def _victim_at_page_three(client: TestClient) -> Bot:
    bot = Bot(client, VICTIM)
    page = bot.enter()
    for _ in range(2):
        page = bot.step(page)
    return bot


@pytest.mark.parametrize(("link", "refusal"), [
    (start_url(VICTIM, session=ATTACKER_SESSION), NOT_PROVEN),                      # an invented session
    (start_url(VICTIM, study="e" * 24, session=ATTACKER_SESSION), NOT_THIS_STUDY),  # an invented study and session
], ids=["invented session", "invented study"])
def test_the_pid_alone_does_not_hand_out_the_victims_place(
        client: TestClient, make_client: Callable[[], TestClient], session_factory: sessionmaker[Session],
        link: str, refusal: str) -> None:
    _victim_at_page_three(client)
    attacker = make_client()
    response = attacker.get(link, follow_redirects=False)
    assert response.status_code == 403
    assert refusal in response.text
    assert "set-cookie" not in response.headers
    assert attacker.get(f"/study/{SLUG}/progress").status_code == 401
    assert _stored_session(session_factory, VICTIM) == session_id(0x51), "the real submission keeps its id"
    assert _session_changes(session_factory) == []


def test_the_victims_own_session_resumes_on_a_new_device(client: TestClient, make_client: Callable[[], TestClient],
                                                         session_factory: sessionmaker[Session]) -> None:
    _victim_at_page_three(client)
    resumed = make_client().get(start_url(VICTIM))
    assert resumed.status_code == 200 and "Page 3 of 38" in resumed.text


def test_a_new_session_in_the_browser_that_holds_the_place_is_taken_and_audited(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    _victim_at_page_three(client)
    new = "a" * 24
    resumed = client.get(start_url(VICTIM, session=new))
    assert resumed.status_code == 200 and "Page 3 of 38" in resumed.text
    assert _stored_session(session_factory, VICTIM) == new
    assert _session_changes(session_factory) == [{"rule": "capability"}]


def _resume_code_on(page: str) -> str:
    found = CODE_PATTERN.search(page)
    assert found is not None, "every page of a signed-in participant shows their resume code"
    return found.group(1)


def _type_code(device: TestClient, code: str, session: str = ATTACKER_SESSION) -> Response:
    asked = device.get(start_url(VICTIM, session=session))
    assert asked.status_code == 403 and 'name="code"' in asked.text, "a new session on a new device is asked for it"
    form = read_form(asked.text)
    return device.post(form.action, data={**form.hidden, "code": code})


def test_a_new_session_on_a_new_device_resumes_with_the_resume_code_and_is_audited(
        client: TestClient, make_client: Callable[[], TestClient], session_factory: sessionmaker[Session]) -> None:
    code = _resume_code_on(_victim_at_page_three(client).client.get(f"/study/{SLUG}/step").text)
    new_session = "d" * 24
    resumed = _type_code(make_client(), code.lower().replace("-", " "), session=new_session)
    assert resumed.status_code == 200 and "Page 3 of 38" in resumed.text
    assert _resume_code_on(resumed.text) == code, "the new device shows the same code"
    assert _stored_session(session_factory, VICTIM) == new_session
    assert _session_changes(session_factory) == [{"rule": "resume_code"}]


def test_a_wrong_resume_code_changes_nothing_and_hands_out_nothing(
        client: TestClient, make_client: Callable[[], TestClient], session_factory: sessionmaker[Session]) -> None:
    code = _resume_code_on(_victim_at_page_three(client).client.get(f"/study/{SLUG}/step").text)
    attacker = make_client()
    wrong = ("0" if code[0] != "0" else "1") + code[1:]
    refused = _type_code(attacker, wrong)
    assert refused.status_code == 403 and "That is not your resume code." in refused.text
    assert attacker.get(f"/study/{SLUG}/progress").status_code == 401
    assert _stored_session(session_factory, VICTIM) == session_id(0x51)
    assert _session_changes(session_factory) == []


def test_resume_codes_cannot_be_guessed_by_trying_many(
        client: TestClient, make_client: Callable[[], TestClient], session_factory: sessionmaker[Session]) -> None:
    code = _resume_code_on(_victim_at_page_three(client).client.get(f"/study/{SLUG}/step").text)
    attacker = make_client()
    form = read_form(attacker.get(start_url(VICTIM, session=ATTACKER_SESSION)).text)
    tries = [attacker.post(form.action, data={**form.hidden, "code": f"0000-0000-00{n:02d}"}) for n in range(5)]
    assert [t.status_code for t in tries] == [403] * 5
    sixth = attacker.post(form.action, data={**form.hidden, "code": code})
    assert sixth.status_code == 429 and "Retry-After" in sixth.headers, "even the right code waits once limited"
    assert _stored_session(session_factory, VICTIM) == session_id(0x51)


def test_resume_codes_differ_between_participants_and_are_not_stored(
        client: TestClient, make_client: Callable[[], TestClient], session_factory: sessionmaker[Session],
        settings: Settings) -> None:
    victim = _resume_code_on(_victim_at_page_three(client).client.get(f"/study/{SLUG}/step").text)
    other = _resume_code_on(Bot(make_client(), pid(0x52)).enter().text)
    assert victim != other
    raw = victim.replace("-", "")
    with session_factory() as session:
        for table in ("participants", "visits", "consents", "audit_events"):
            rows = session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 - fixed table names
            assert all(raw not in str(row) and victim not in str(row) for row in rows), table


def test_the_same_device_with_a_new_session_is_not_asked_for_the_code(client: TestClient) -> None:
    _victim_at_page_three(client)
    resumed = client.get(start_url(VICTIM, session="a" * 24))
    assert resumed.status_code == 200 and "Page 3 of 38" in resumed.text
    assert 'name="code"' not in resumed.text


@pytest.fixture
def prolific() -> Iterator[ProlificStandIn]:
    server = ProlificStandIn()
    server.start()
    yield server
    server.stop()


def test_a_new_session_on_a_new_device_needs_prolifics_word(
        settings: Settings, protocol_study: Study, session_factory: sessionmaker[Session],
        prolific: ProlificStandIn) -> None:
    configured = settings.model_copy(update={"prolific_token": SecretStr(TOKEN), "prolific_api_url": prolific.url})
    with TestClient(web_app(configured, study=protocol_study), follow_redirects=True) as client:
        _victim_at_page_three(client)
        new_device = TestClient(client.app, follow_redirects=True)
        mine, not_mine = "b" * 24, "c" * 24
        prolific.add_submission(mine, STUDY_ID, VICTIM)
        prolific.add_submission(not_mine, STUDY_ID, pid(0x99))
        refused = new_device.get(start_url(VICTIM, session=not_mine))
        assert refused.status_code == 403 and NOT_PROVEN in refused.text
        resumed = new_device.get(start_url(VICTIM, session=mine))
    assert resumed.status_code == 200 and "Page 3 of 38" in resumed.text
    assert _stored_session(session_factory, VICTIM) == mine
    assert _session_changes(session_factory) == [{"rule": "prolific_api"}]


def test_the_cookie_cannot_be_read_by_its_holder(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot = Bot(client, VICTIM)
    read_form(bot.enter().text)
    value = client.cookies[cookie_name(SLUG)]
    with session_factory() as session:
        participant = session.scalars(select(Participant)).one()
    padded = value + "=" * (-len(value) % 4)
    decoded = base64.urlsafe_b64decode(padded)
    assert participant.pseudonym_id.encode() not in decoded
    assert SLUG.encode() not in decoded, "nothing in the cookie is readable"
