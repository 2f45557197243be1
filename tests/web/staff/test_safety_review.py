"""Safety events on the quality page: listed for review with the participant's pseudonym and words
(never their Prolific id), and marked reviewed once, with a note, by a researcher or admin; audited.

The events are written the way the interviewer writes them: the conductor's store saves the
participant's turn with its safety flag (tests/interviewer/conductor/test_safety.py shows the
classifier raising them in a whole interview).
"""

from __future__ import annotations

import pytest
from journey_bots import pid
from sqlalchemy import select
from staff_data import Person

from interviewer.conductor.persistence import SafetyFlag, Store, TurnRecord
from storage.models import AuditEvent, SafetyEvent
from web.staff.roles import Role

SAID = "Honestly I can't stop crying when I think about that year."


def flag_a_turn(session_factory, person: Person, seq: int = 4, signal: str = "distress") -> int:  # noqa: ANN001
    """The conductor's store saves the participant's turn ``seq`` with a safety flag; the event's id."""
    Store(session_factory).save(
        person.interview_id, protocol_hash="0" * 64, checkpoint={"position": 1},
        turns=[TurnRecord(seq=seq, speaker="participant", kind="answer", question_id="childhood", text=SAID,
                          start_s=17.0, end_s=21.0)],
        flags=[SafetyFlag(turn_seq=seq, question_id="childhood", signal=signal, score=0.91, source="classifier")])
    with session_factory() as session:
        return session.scalars(select(SafetyEvent.id).where(SafetyEvent.turn_seq == seq)).one()


def _row(page: str, event_id: int) -> str:
    return page.split(f'<tr id="safety-event-{event_id}"')[1].split("</tr>")[0]


def _review(member, event_id: int, note: str, csrf: str | None = None):  # noqa: ANN001, ANN202
    return member.client.post(f"/staff/quality/safety-events/{event_id}/review",
                              data={"csrf": member.csrf if csrf is None else csrf, "note": note},
                              follow_redirects=True)


def test_an_unreviewed_event_is_listed_with_the_pseudonym_and_words_never_the_prolific_id(staff, person: Person,
                                                                                           session_factory):
    event_id = flag_a_turn(session_factory, person)
    page = staff[Role.RESEARCHER].client.get("/staff/quality").text
    row = _row(page, event_id)
    assert 'data-reviewed="no"' in row and "1 awaiting review" in page
    assert f'<a href="/staff/participants/{person.pseudonym}">{person.pseudonym[:8]}</a>' in row
    assert "<td>childhood</td>" in row and ">distress<" in row and '<td class="num">0.91</td>' in row
    assert "<td>classifier</td>" in row and "I can&#39;t stop crying" in row
    assert 'action="/staff/quality/safety-events/' in row
    assert pid(1) not in page


def test_showing_the_words_is_audited_as_a_transcript_read_with_the_account(staff, person: Person, session_factory):
    flag_a_turn(session_factory, person)
    staff[Role.ADMIN].client.get("/staff/quality")
    with session_factory() as session:
        read = session.scalars(select(AuditEvent).where(AuditEvent.action == "transcript.read")).one()
    assert (read.actor, read.target) == ("staff:admin@lab.example.org", f"interview:{person.interview_id}")
    assert read.details["via"] == "quality.safety_events" and read.details["turns"] == 1


def test_unreviewed_events_come_first_then_the_newest(staff, person: Person, session_factory):
    older = flag_a_turn(session_factory, person, seq=4)
    newer = flag_a_turn(session_factory, person, seq=6, signal="severe")
    researcher = staff[Role.RESEARCHER]
    page = researcher.client.get("/staff/quality").text
    assert page.index(f'id="safety-event-{newer}"') < page.index(f'id="safety-event-{older}"')
    _review(researcher, newer, "Called the participant; they are safe.")
    page = researcher.client.get("/staff/quality").text
    assert page.index(f'id="safety-event-{older}"') < page.index(f'id="safety-event-{newer}"')


def test_a_researcher_marks_an_event_reviewed_with_a_note_and_it_is_audited(staff, person: Person,
                                                                           session_factory):
    event_id = flag_a_turn(session_factory, person)
    note = "Listened to the recording; offered the helpline at the end. No further action."
    done = _review(staff[Role.RESEARCHER], event_id, f"  {note}  ")
    assert done.status_code == 200 and f"Safety event {event_id} was marked reviewed." in done.text
    row = _row(done.text, event_id)
    assert 'data-reviewed="yes"' in row and "reviewed by staff:researcher@lab.example.org" in row and note in row
    with session_factory() as session:
        event = session.get(SafetyEvent, event_id)
        assert event is not None and event.reviewed_at is not None
        assert (event.reviewed_by, event.review_note) == ("staff:researcher@lab.example.org", note)
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "safety_event.reviewed")).one()
    assert (audited.actor, audited.target) == ("staff:researcher@lab.example.org", f"interview:{person.interview_id}")
    assert audited.details == {"safety_event_id": event_id, "signal": "distress", "turn_seq": 4,
                               "note_chars": len(note), "note_kept": True}


def test_an_empty_note_is_refused_and_nothing_changes(staff, person: Person, session_factory):
    event_id = flag_a_turn(session_factory, person)
    refused = _review(staff[Role.RESEARCHER], event_id, "   ")
    assert refused.status_code == 400 and "The review note is empty" in refused.text
    with session_factory() as session:
        assert session.get(SafetyEvent, event_id).reviewed_at is None  # type: ignore[union-attr]
        assert not session.scalars(select(AuditEvent).where(AuditEvent.action == "safety_event.reviewed")).all()


def test_a_second_review_is_refused_and_the_first_note_kept(staff, person: Person, session_factory):
    event_id = flag_a_turn(session_factory, person)
    _review(staff[Role.RESEARCHER], event_id, "First look: fine.")
    again = _review(staff[Role.ADMIN], event_id, "Second look.")
    assert again.status_code == 400
    assert (f"Safety event {event_id} was already reviewed by staff:researcher@lab.example.org"
            in again.text.replace("&#39;", "'"))
    with session_factory() as session:
        assert session.get(SafetyEvent, event_id).review_note == "First look: fine."  # type: ignore[union-attr]


def test_a_review_without_the_session_csrf_token_is_refused(staff, person: Person, session_factory):
    event_id = flag_a_turn(session_factory, person)
    refused = _review(staff[Role.RESEARCHER], event_id, "A note.", csrf="forged")
    assert refused.status_code == 403 and "security token" in refused.text
    with session_factory() as session:
        assert session.get(SafetyEvent, event_id).reviewed_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_a_role_without_transcript_access_cannot_review(staff, person: Person, session_factory, role: Role):
    event_id = flag_a_turn(session_factory, person)
    refused = _review(staff[role], event_id, "A note.")
    assert refused.status_code == 403
    with session_factory() as session:
        assert session.get(SafetyEvent, event_id).reviewed_at is None  # type: ignore[union-attr]


def test_an_event_of_no_interview_in_this_study_is_not_found(staff, person: Person):
    assert _review(staff[Role.RESEARCHER], 999999, "A note.").status_code == 404


def test_the_api_lists_unreviewed_events_without_the_words(staff, person: Person, session_factory):
    reviewed = flag_a_turn(session_factory, person, seq=4)
    waiting = flag_a_turn(session_factory, person, seq=6, signal="severe")
    _review(staff[Role.RESEARCHER], reviewed, "Done.")
    listed = staff[Role.RESEARCHER].client.get("/api/staff/safety-events").json()
    assert [(e["event_id"], e["pseudonym"], e["signal"], e["turn_seq"]) for e in listed] == [
        (waiting, person.pseudonym, "severe", 6)]
    assert SAID not in str(listed) and pid(1) not in str(listed)
    assert staff[Role.VIEWER].client.get("/api/staff/safety-events").status_code == 403


def _withdraw(admin, person: Person):  # noqa: ANN001, ANN202
    done = admin.client.post(f"/staff/participants/{person.pseudonym}/withdraw",
                             data={"csrf": admin.csrf, "confirm": person.pseudonym, "reason": ""})
    assert done.status_code == 200 and "The participant was withdrawn" in done.text


def test_a_withdrawal_keeps_that_an_event_happened_and_was_reviewed_but_not_the_words_or_the_note(
        staff, person: Person, session_factory):
    event_id = flag_a_turn(session_factory, person)
    note = "Phoned them: their father died last winter; they are safe and have support."
    _review(staff[Role.RESEARCHER], event_id, note)
    _withdraw(staff[Role.ADMIN], person)
    with session_factory() as session:
        event = session.get(SafetyEvent, event_id)
        assert event is not None
        assert (event.signal, event.turn_seq, event.question_id, event.score, event.source) == (
            "distress", 4, "childhood", 0.91, "classifier")
        assert event.reviewed_at is not None and event.reviewed_by == "staff:researcher@lab.example.org"
        assert event.review_note is None
    row = _row(staff[Role.RESEARCHER].client.get("/staff/quality").text, event_id)
    assert ">withdrawn<" in row and "(erased at withdrawal)" in row
    assert "(note not kept: the participant withdrew)" in row
    assert "crying" not in row and "father" not in row


def test_an_event_of_a_withdrawn_participant_is_still_reviewed_but_its_note_is_not_kept(staff, person: Person,
                                                                                       session_factory):
    event_id = flag_a_turn(session_factory, person)
    _withdraw(staff[Role.ADMIN], person)
    done = _review(staff[Role.RESEARCHER], event_id, "They withdrew after the pause; sent the helpline by message.")
    assert done.status_code == 200
    assert "was marked reviewed. The participant has withdrawn, so the note was not kept." in done.text
    with session_factory() as session:
        event = session.get(SafetyEvent, event_id)
        assert event is not None and event.reviewed_by == "staff:researcher@lab.example.org"
        assert event.review_note is None
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "safety_event.reviewed")).one()
    assert audited.details["note_kept"] is False
