"""The staff JSON API: per-account tokens, the same rules and audit as the pages, OpenAPI for staff only."""

from __future__ import annotations

from sqlalchemy import select
from staff_data import TURNS, Person

from storage.models import AuditEvent
from web.staff import accounts
from web.staff.roles import Role
from web.staff.sessions import create_api_token


def _token(session_factory, email: str) -> str:  # type: ignore[no-untyped-def]
    with session_factory() as session, session.begin():
        return create_api_token(session, accounts.enabled_account(session, email), "test", actor="system:test")


def test_a_researchers_token_reads_a_participant_and_the_read_is_audited(staff, person: Person, make_client,
                                                                        session_factory):
    token = _token(session_factory, staff[Role.RESEARCHER].email)
    script = make_client()
    response = script.get(f"/api/staff/participants/{person.pseudonym}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    assert body["prolific_pid"] is None
    assert [t["text"] for t in body["interviews"][0]["turns"]] == [turn[3] for turn in TURNS]
    audio = body["interviews"][0]["audio"]["participant"]
    assert audio == f"/staff/recordings/{person.recording_ids['participant']}/audio"
    with session_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "transcript.read")).one()
    assert (event.actor, event.details["via"]) == ("staff:researcher@lab.example.org", "api")


def test_the_api_answers_401_without_a_token_and_403_for_a_viewers_token(staff, person: Person, make_client,
                                                                        session_factory):
    script = make_client()
    anonymous = script.get("/api/staff/overview")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    forged = script.get("/api/staff/overview", headers={"Authorization": "Bearer vbk_not-a-token"})
    assert forged.status_code == 401
    viewer = {"Authorization": f"Bearer {_token(session_factory, staff[Role.VIEWER].email)}"}
    overview = script.get("/api/staff/overview", headers=viewer)
    assert overview.status_code == 200
    assert {(s["wave"], s["stage"]): s["participants"] for s in overview.json()["funnel"]}[(1, "consented")] == 1
    assert script.get(f"/api/staff/participants/{person.pseudonym}", headers=viewer).status_code == 403


def test_disabling_an_account_revokes_its_tokens(staff, make_client, session_factory):
    token = _token(session_factory, staff[Role.VIEWER].email)
    with session_factory() as session, session.begin():
        accounts.disable(session, staff[Role.VIEWER].email, actor="staff:admin@lab.example.org")
    response = make_client().get("/api/staff/overview", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_the_openapi_document_is_served_only_to_signed_in_staff(staff, make_client):
    assert make_client().get("/api/staff/openapi.json").status_code == 401
    document = staff[Role.VIEWER].client.get("/api/staff/openapi.json").json()
    assert set(document["paths"]) == {"/api/staff/overview", "/api/staff/live", "/api/staff/participants/{pseudonym}",
                                      "/api/staff/safety-events"}
