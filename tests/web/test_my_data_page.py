"""A participant's own data page: what the study holds about them, the exports that included them,
their own copy of their answers and interview, and stopping their data going into future exports."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from journey_bots import SLUG, Bot, pid, read_form
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agentbank.export import run_export
from agentbank.manifest import MANIFEST
from protocols import Study
from storage.models import (
    AuditEvent,
    Consent,
    Export,
    ExportParticipant,
    Interview,
    Participant,
    Recording,
    Response,
    Turn,
    Visit,
)

BASE = f"/study/{SLUG}"
SAID = [("interviewer", "To start, I'd love to hear the story of your life."),
        ("participant", "I grew up by the sea with my grandmother, who kept bees."),
        ("interviewer", "What was it like living with her?"),
        ("participant", "Quiet, and full of honey.")]


def take_part(client: TestClient, n: int, session_factory: sessionmaker[Session], *, steps: int = 6) -> Participant:
    """Participant n enters, agrees to everything, is interviewed (the turns in SAID, 12 minutes, one
    recording of 11.5 minutes) and answers ``steps - 3`` battery pages."""
    bot = Bot(client, pid(n))
    page = bot.enter()
    for _ in range(steps):
        page = bot.step(page)
    with session_factory() as session, session.begin():
        participant = session.scalars(select(Participant).where(Participant.prolific_pid == pid(n))).one()
        interview = session.scalars(select(Interview).join(Visit, Interview.visit_id == Visit.id)
                                    .where(Visit.participant_id == participant.id)).one()
        interview.started_at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
        interview.ended_at = datetime(2026, 3, 1, 10, 12, tzinfo=UTC)
        for seq, (speaker, text) in enumerate(SAID):
            session.add(Turn(interview_id=interview.id, seq=seq, speaker=speaker, kind="live", text=f"{text} ({n})",
                             start_s=10.0 * seq, end_s=10.0 * seq + 5, protocol_hash="0" * 64))
        session.add(Recording(interview_id=interview.id, channel="participant", sample_rate=16000, status="complete",
                              duration_s=690.0))
        session.expunge(participant)
    return participant


def seed_export(session_factory: sessionmaker[Session], tier: str, day: datetime, *participant_ids: int) -> None:
    with session_factory() as session, session.begin():
        export = Export(actor="staff:a", tier=tier, out_path="/tmp/x", manifest_sha256="0" * 64,
                        participant_count=len(participant_ids), created_at=day)
        session.add(export)
        session.flush()
        session.add_all([ExportParticipant(export_id=export.id, participant_id=p) for p in participant_ids])


def test_the_page_shows_exactly_what_is_held_and_the_exports_that_included_them(
        client: TestClient, make_client, session_factory: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    me = take_part(client, 1, session_factory)
    other = take_part(make_client(), 2, session_factory, steps=4)
    seed_export(session_factory, "restricted", datetime(2026, 3, 5, tzinfo=UTC), me.id, other.id)
    seed_export(session_factory, "open", datetime(2026, 3, 9, tzinfo=UTC), other.id)
    with session_factory() as session:
        answers = Counter(session.scalars(select(Response.instrument).join(Visit, Response.visit_id == Visit.id)
                                          .where(Visit.participant_id == me.id)))
    page = client.get(f"{BASE}/my-data")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    instruments = client.app.state.journey.runtime.protocol.instruments
    assert answers  # the battery pages were answered
    for instrument, count in answers.items():
        assert f"{count} answers to “{instruments[instrument].data.heading}”" in text
    assert "12.0 minutes long: 4 turns of conversation written down" in text
    assert "1 audio recording (11.5 minutes)" in text
    assert "You agreed to:" in text and "Part 1 of the study: started" in text
    assert "5 March 2026: Restricted tier" in text
    assert "9 March 2026" not in text  # the open export held only the other participant
    assert pid(1) not in text and me.pseudonym_id not in text


def test_another_participants_browser_never_shows_them(client: TestClient, make_client,  # type: ignore[no-untyped-def]
                                                       session_factory: sessionmaker[Session]) -> None:
    me = take_part(client, 1, session_factory)
    seed_export(session_factory, "restricted", datetime(2026, 3, 5, tzinfo=UTC), me.id)
    stranger = make_client()
    Bot(stranger, pid(2)).enter()
    page = " ".join(stranger.get(f"{BASE}/my-data").text.split())
    assert "No export has included you so far." in page and "No interview." in page
    assert "turns of conversation" not in page
    copy = stranger.get(f"{BASE}/my-data/download").json()
    assert copy["answers"] == [] and copy["interviews"] == []
    assert "(1)" not in json.dumps(copy)


def test_without_their_cookie_nobody_gets_the_page_or_the_copy(client: TestClient, make_client,  # type: ignore[no-untyped-def]
                                                               session_factory: sessionmaker[Session]) -> None:
    take_part(client, 1, session_factory)
    anonymous = make_client()
    for path in ("/my-data", "/my-data/download"):
        response = anonymous.get(f"{BASE}{path}")
        assert response.status_code == 401
        assert "grew up by the sea" not in response.text


def test_the_download_holds_their_answers_and_transcript_and_is_audited(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    me = take_part(client, 1, session_factory)
    response = client.get(f"{BASE}/my-data/download")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="my-data-{SLUG}.json"'
    copy = response.json()
    with session_factory() as session:
        stored = session.scalars(select(Response).join(Visit, Response.visit_id == Visit.id)
                                 .where(Visit.participant_id == me.id)).all()
        assert len(copy["answers"]) == len(stored) > 0
        assert all(answer["question"] for answer in copy["answers"])  # every answer comes with its wording
        assert {(a["instrument"], a["item"]) for a in copy["answers"]} == {(r.instrument, r.item_id) for r in stored}
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "participant.data_download")).one()
    assert [(turn["speaker"], turn["text"]) for turn in copy["interviews"][0]["turns"]] == [
        ("Interviewer" if speaker == "interviewer" else "You", f"{text} (1)") for speaker, text in SAID]
    assert copy["transcript_text"].startswith("Interviewer: To start, I'd love to hear the story of your life. (1)")
    assert "\n\nYou: I grew up by the sea" in copy["transcript_text"]
    assert (event.actor, event.target) == (f"participant:{me.pseudonym_id}", f"participant:{me.id}")
    assert event.details == {"answers": len(stored), "game_decisions": 0, "turns": 4}


def test_stopping_sharing_leaves_them_out_of_the_next_export_and_keeps_them_in_the_study(
        client: TestClient, make_client, session_factory: sessionmaker[Session],  # type: ignore[no-untyped-def]
        protocol_study: Study, tmp_path: Path) -> None:
    me = take_part(client, 1, session_factory)
    take_part(make_client(), 2, session_factory)
    before = run_export(session_factory, protocol_study, tmp_path / "before", tier="restricted", actor="staff:a")
    assert json.loads((before.out / MANIFEST).read_text())["counts"]["participants"] == 2

    page = client.get(f"{BASE}/my-data")
    assert "Exports already made cannot be called back" in page.text
    form = read_form(page.text)
    assert form.action == f"{BASE}/my-data/stop-sharing"
    done = " ".join(client.post(form.action, data=form.hidden).text.split())
    assert "Done: your data will not go into any future export." in done
    assert "Your data goes into no future export." in done
    assert "Restricted tier" in done  # the export already made still lists them

    after = run_export(session_factory, protocol_study, tmp_path / "after", tier="restricted", actor="staff:a")
    manifest = json.loads((after.out / MANIFEST).read_text())
    assert manifest["counts"]["participants"] == 1
    assert manifest["left_out"] == {"sharing_withdrawn": 1}
    assert {path.name for path in (after.out / "agents").iterdir()} == {
        p for p in _pseudonyms(session_factory) if p != me.pseudonym_id}
    with session_factory() as session:
        consents = session.scalars(select(Consent).where(Consent.participant_id == me.id).order_by(Consent.id)).all()
        assert len(consents) == 2  # the signed copy is kept unchanged; the change is a new row
        assert "share_transcript_restricted" in consents[0].scopes
        assert {"participate", "audio_recording"} <= set(consents[1].scopes)
        assert not {"share_transcript_open", "share_transcript_restricted"} & set(consents[1].scopes)
        assert session.scalars(select(Participant.status).where(Participant.id == me.id)).one() == "active"
        assert session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "consent.stop_sharing")).one() == (
            f"participant:{me.pseudonym_id}")


def _pseudonyms(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(select(Participant.pseudonym_id)))


@pytest.mark.parametrize("data", [{}, {"token": "forged"}, "page-token", "extra-field"])
def test_a_forged_stop_changes_nothing(client: TestClient, session_factory: sessionmaker[Session],
                                       data: dict[str, str] | str) -> None:
    take_part(client, 1, session_factory, steps=3)
    if data == "page-token":  # a token for another form of the same visit
        data = {"token": read_form(client.get(f"{BASE}/withdraw").text).hidden["token"]}
    elif data == "extra-field":
        data = {**read_form(client.get(f"{BASE}/my-data").text).hidden, "scopes": "participate"}
    assert client.post(f"{BASE}/my-data/stop-sharing", data=data).status_code == 400
    with session_factory() as session:
        assert len(session.scalars(select(Consent)).all()) == 1


def test_after_withdrawing_the_page_shows_what_the_withdrawal_kept(client: TestClient,
                                                                    session_factory: sessionmaker[Session]) -> None:
    take_part(client, 1, session_factory)
    form = read_form(client.get(f"{BASE}/withdraw").text)
    left = client.post(form.action, data={**form.hidden, "reason": ""})
    assert f'href="{BASE}/my-data"' in left.text
    page = " ".join(client.get(f"{BASE}/my-data").text.split())
    assert "You have withdrawn from the study: you are in no future export." in page
    assert "No answers to the questionnaires." in page and "0 turns of conversation" in page
    assert "Stop sharing" not in page
    assert client.get(f"{BASE}/my-data/download").json()["answers"] == []
