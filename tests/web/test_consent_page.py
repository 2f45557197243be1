"""Consent: the document as shown, required and optional scopes, an immutable signed copy, a kind exit."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from journey_bots import SLUG, Bot, pid, read_form
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEvent, Consent, Participant, QuotaCell, Visit

STEP = f"/study/{SLUG}/step"


def _consent_page(client: TestClient) -> tuple[Bot, str]:
    bot = Bot(client, pid(1))
    page = bot.enter()
    assert read_form(page.text).checkboxes
    return bot, page.text


def test_the_document_is_rendered_with_every_scope_as_a_choice(client: TestClient) -> None:
    _, html = _consent_page(client)
    assert "<h1>Consent to take part in a research study</h1>" in html
    assert "at study-team@example.org" in html and "{{ contact_email }}" not in html
    form = read_form(html)
    assert sorted(form.checkboxes) == ["scope.audio_recording", "scope.participate", "scope.share_transcript_open",
                                       "scope.share_transcript_restricted"]
    assert "Recording and transcribing your voice</strong> (required)" in html
    assert "Sharing summaries with other academic researchers</strong> (optional)" in html
    assert ("decision", "agree") in form.buttons and ("decision", "decline") in form.buttons
    assert "Leave the study (withdraw)" in html


def test_agreeing_stores_the_signed_copy(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    bot, html = _consent_page(client)
    form = read_form(html)
    data = {**form.hidden, "scope.participate": "yes", "scope.audio_recording": "yes",
            "scope.share_transcript_open": "yes", "decision": "agree"}
    response = client.post(STEP, data=data)
    assert response.status_code == 200
    assert read_form(response.text).heading == "Microphone check"
    document = client.app.state.runtime.consent  # type: ignore[attr-defined]
    expected_text = document.text.replace("{{ contact_email }}", "study-team@example.org")
    with session_factory() as session:
        consent = session.scalars(select(Consent)).one()
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "consent.sign")).one()
    assert consent.document_version == "1"
    assert consent.text == expected_text
    assert consent.text_hash == hashlib.sha256(expected_text.encode()).hexdigest()
    assert consent.scopes == ["participate", "audio_recording", "share_transcript_open"]
    assert consent.withdrawn_at is None
    assert event.details["scopes"] == consent.scopes and event.details["text_hash"] == consent.text_hash


def test_the_required_scopes_must_be_ticked(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    _, html = _consent_page(client)
    form = read_form(html)
    response = client.post(STEP, data={**form.hidden, "scope.participate": "yes", "scope.share_transcript_open": "yes",
                                       "decision": "agree"})
    assert response.status_code == 422
    assert "To take part, please tick the required boxes: “Recording and transcribing your voice”." in response.text
    assert 'name="scope.share_transcript_open" value="yes" checked' in response.text
    with session_factory() as session:
        assert session.scalar(select(func.count(Consent.id))) == 0
        assert session.scalars(select(Visit.position)).one() == 0


def test_a_consent_form_with_strange_fields_is_refused(client: TestClient,
                                                       session_factory: sessionmaker[Session]) -> None:
    _, html = _consent_page(client)
    form = read_form(html)
    for data in ({**form.hidden, "scope.participate": "yes", "scope.audio_recording": "yes", "decision": "sure"},
                 {**form.hidden, "scope.participate": "no", "scope.audio_recording": "yes", "decision": "agree"},
                 {**form.hidden, "scope.sell_my_data": "yes", "decision": "agree"}):
        assert client.post(STEP, data=data).status_code == 400
    with session_factory() as session:
        assert session.scalar(select(func.count(Consent.id))) == 0


def test_declining_ends_kindly_and_keeps_nothing(client: TestClient, make_client,  # type: ignore[no-untyped-def]
                                                 session_factory: sessionmaker[Session]) -> None:
    _, html = _consent_page(client)
    form = read_form(html)
    response = client.post(STEP, data={**form.hidden, "decision": "decline"})
    assert response.status_code == 200
    assert "You chose not to take part. That is completely fine" in response.text
    assert "“Return submission”" in response.text
    with session_factory() as session:
        participant = session.scalars(select(Participant)).one()
        assert (participant.status, participant.strata) == ("declined", {})
        assert session.scalars(select(Visit.status)).one() == "declined"
        assert session.scalar(select(func.count(Consent.id))) == 0
        assert session.scalars(select(QuotaCell.filled).where(QuotaCell.stratum == "*")).one() == 0
    # Later visits, from any device, show the same page; the journey does not reopen.
    assert "You chose not to take part" in Bot(make_client(), pid(1)).enter().text
    assert client.post(STEP, data={**form.hidden, "decision": "agree"}).status_code == 200
    with session_factory() as session:
        assert session.scalar(select(func.count(Consent.id))) == 0
