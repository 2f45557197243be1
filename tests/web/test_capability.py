"""The capability cookie reaches its holder's own visit and nothing of anyone else's."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from journey_bots import SLUG, Bot, pid, read_form
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Participant, Response, Visit
from web.capability import Signer, cookie_name

COOKIE = cookie_name(SLUG)


def _two_participants(client: TestClient, make_client: Callable[[], TestClient]) -> tuple[Bot, Bot]:
    alice, bob = Bot(client, pid(0xA)), Bot(make_client(), pid(0xB))
    page_a, page_b = alice.enter(), bob.enter()
    for _ in range(4):
        page_a = alice.step(page_a)
    page_b = bob.step(page_b)
    return alice, bob


def _responses(session_factory: sessionmaker[Session], prolific_pid: str) -> int:
    with session_factory() as session:
        return int(session.scalar(
            select(func.count(Response.id)).join(Visit, Response.visit_id == Visit.id)
            .join(Participant, Visit.participant_id == Participant.id).where(Participant.prolific_pid == prolific_pid)
        ) or 0)


def test_each_cookie_shows_its_own_place(client: TestClient, make_client: Callable[[], TestClient]) -> None:
    alice, bob = _two_participants(client, make_client)
    assert "Page 5 of 38" in alice.client.get(f"/study/{SLUG}/step").text
    assert "Page 2 of 38" in bob.client.get(f"/study/{SLUG}/step").text
    assert alice.client.get(f"/study/{SLUG}/progress").json()["page"] == 4
    assert bob.client.get(f"/study/{SLUG}/progress").json()["page"] == 1


def test_no_cookie_no_page(make_client: Callable[[], TestClient], client: TestClient) -> None:
    stranger = make_client()
    for method, path in (("get", "step"), ("post", "step"), ("get", "progress"), ("get", "withdraw"),
                         ("post", "withdraw")):
        response = getattr(stranger, method)(f"/study/{SLUG}/{path}")
        assert response.status_code == 401, path
        assert "Please open the study from your Prolific link" in response.text


def test_a_tampered_or_foreign_cookie_is_refused(client: TestClient, make_client: Callable[[], TestClient],
                                                 session_factory: sessionmaker[Session]) -> None:
    alice, bob = _two_participants(client, make_client)
    with session_factory() as session:
        bob_row = session.scalars(select(Participant).where(Participant.prolific_pid == pid(0xB))).one()
        bob_visit = session.scalars(select(Visit).where(Visit.participant_id == bob_row.id)).one()
    forged = {
        "wrong key": Signer("another secret").capability(SLUG, bob_row.id, bob_row.pseudonym_id, bob_visit.id),
        "edited": alice.client.cookies[COOKIE][:-3] + "abc",
        "unsigned": URLSafeTimedSerializer("x").dumps({"s": SLUG, "p": bob_row.id}),
        "other study": client.app.state.signer.capability(  # type: ignore[attr-defined]
            "otherstudy", bob_row.id, bob_row.pseudonym_id, bob_visit.id),
        "right id, wrong pseudonym": client.app.state.signer.capability(  # type: ignore[attr-defined]
            SLUG, bob_row.id, "00000000-0000-0000-0000-000000000000", bob_visit.id),
    }
    for name, value in forged.items():
        thief = make_client()
        thief.cookies.set(COOKIE, value, path=f"/study/{SLUG}")
        response = thief.get(f"/study/{SLUG}/step")
        assert response.status_code == 401, name


def test_a_form_of_one_participant_cannot_be_posted_by_another(client: TestClient,
                                                               make_client: Callable[[], TestClient],
                                                               session_factory: sessionmaker[Session]) -> None:
    alice, bob = _two_participants(client, make_client)
    bob_page = bob.client.get(f"/study/{SLUG}/step")
    bob_form = read_form(bob_page.text)
    before = _responses(session_factory, pid(0xB)), _responses(session_factory, pid(0xA))
    # Alice posts Bob's form (with Bob's token) under her own cookie: refused, nothing stored for either.
    response = alice.client.post(f"/study/{SLUG}/step", data=alice.answers(bob_form))
    assert response.status_code == 403
    assert "This page belongs to someone else" in response.text
    assert (_responses(session_factory, pid(0xB)), _responses(session_factory, pid(0xA))) == before
    # Bob's own post still works afterwards.
    assert bob.client.post(f"/study/{SLUG}/step", data=bob.answers(bob_form)).status_code == 200


def test_the_cookie_is_httponly_samesite_and_scoped_to_the_study(client: TestClient) -> None:
    response = client.get(f"/study/{SLUG}/start", params={"PROLIFIC_PID": pid(7), "STUDY_ID": "a" * 24,
                                                          "SESSION_ID": "b" * 24}, follow_redirects=False)
    form = read_form(response.text)
    created = client.post(form.action, data={**form.hidden, **{k: v[0] for k, v in form.radios.items()},
                                             "start": "1"}, follow_redirects=False)
    assert created.status_code == 303
    header = created.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=")
    assert "HttpOnly" in header
    assert "SameSite=lax" in header or "samesite=lax" in header.lower()
    assert f"Path=/study/{SLUG}" in header
    assert pid(7) not in header, "the cookie carries ids of our own, not the Prolific id"


def test_pages_are_never_cached_and_never_leak_the_address(client: TestClient) -> None:
    bot = Bot(client, pid(8))
    page = bot.enter()
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
