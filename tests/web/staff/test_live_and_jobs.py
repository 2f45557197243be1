"""The live page lists interviews in progress; operators retry failed transcriptions and scheduled actions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from staff_data import Person

from storage.models import AuditEvent, Interview, SafetyEvent, ScheduledAction, utcnow
from web.staff.roles import Role


def test_an_interview_in_progress_is_on_the_live_page_with_its_question_and_safety_flags(staff, person: Person,
                                                                                        session_factory):
    with session_factory() as session, session.begin():
        session.execute(update(Interview).values(
            status="in_progress", ended_at=None, started_at=utcnow() - timedelta(minutes=3),
            # the conductor's own log of signals is not what the live page counts: safety_events rows are
            checkpoint={"position": 1, "events": [{"type": "stop_check", "question_id": "q", "source": "detector"}]}))
        for signal, reviewed in (("distress", None), ("distress", utcnow()), ("severe", None)):
            session.add(SafetyEvent(interview_id=person.interview_id, turn_seq=1, question_id="q", signal=signal,
                                    score=0.9, source="classifier", reviewed_at=reviewed))
    rows = staff[Role.VIEWER].client.get("/staff/live/rows").text
    running = rows.split('id="running"')[1].split("</table>")[0]
    assert f'data-interview="{person.interview_id}"' in running
    assert "0:03:0" in running  # elapsed h:mm:ss, against the guide's budget
    assert "distress × 2" in running and "severe × 1" in running and "2 to review" in running
    assert "stop" not in running
    [listed] = staff[Role.VIEWER].client.get("/api/staff/live").json()
    assert (listed["safety"], listed["safety_unreviewed"]) == ({"distress": 2, "severe": 1}, 2)
    with session_factory() as session, session.begin():
        session.execute(update(Interview).values(status="lost"))
    rows = staff[Role.VIEWER].client.get("/staff/live/rows").text
    assert "No interview is in progress." in rows and 'id="abandoned"' in rows


def test_a_paused_interview_shows_as_paused_and_its_pauses_are_not_counted_as_elapsed(staff, person: Person,
                                                                                     session_factory):
    with session_factory() as session, session.begin():
        session.execute(update(Interview).values(
            status="in_progress", ended_at=None, started_at=utcnow() - timedelta(minutes=10), paused_s=120.0,
            paused_at=utcnow() - timedelta(minutes=3), checkpoint={"position": 1}))
    running = staff[Role.VIEWER].client.get("/staff/live/rows").text.split('id="running"')[1].split("</table>")[0]
    assert "0:05:0" in running  # ten minutes since the start, less two paused before and three now
    assert ">paused<" in running


def test_an_operator_queues_a_failed_transcription_again_and_it_reaches_the_broker(staff, person: Person,
                                                                                  session_factory):
    with session_factory() as session, session.begin():
        session.execute(update(Interview).values(transcription_status="failed", transcription_error="boom"))
    operator = staff[Role.OPERATOR]
    page = operator.client.get("/staff/jobs").text
    assert '<tr data-queue="gpu"><td>gpu</td><td class="num">0</td></tr>' in page  # the embedded broker, empty
    assert f'action="/staff/jobs/transcriptions/{person.interview_id}/retry"' in page
    assert "Retry" not in staff[Role.VIEWER].client.get("/staff/jobs").text
    done = operator.client.post(f"/staff/jobs/transcriptions/{person.interview_id}/retry",
                                data={"csrf": operator.csrf})
    assert done.status_code == 200 and "The transcription was queued again." in done.text
    assert '<tr data-queue="gpu"><td>gpu</td><td class="num">1</td></tr>' in done.text
    with session_factory() as session:
        assert session.get(Interview, person.interview_id).transcription_status == "pending"  # type: ignore[union-attr]
        queued = session.scalars(select(AuditEvent).where(AuditEvent.action == "transcription.queued")).one()
        assert queued.details["requested_by"] == "staff:operator@lab.example.org"


def test_an_operator_retries_a_failed_scheduled_action(staff, person: Person, session_factory):
    with session_factory() as session, session.begin():
        action = ScheduledAction(participant_id=person.participant_id, kind="reminder", due_at=utcnow(),
                                 status="failed", attempts=8, idempotency_key="k1", last_error="Prolific said 500")
        session.add(action)
        session.flush()
        action_id = action.id
    operator = staff[Role.OPERATOR]
    assert "Prolific said 500" in operator.client.get("/staff/jobs").text
    done = operator.client.post(f"/staff/jobs/actions/{action_id}/retry", data={"csrf": operator.csrf})
    assert "The action is due again now." in done.text
    with session_factory() as session:
        retried = session.get(ScheduledAction, action_id)
        assert retried is not None and (retried.status, retried.attempts) == ("pending", 0)
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "schedule.retry")).one()
        assert event.actor == "staff:operator@lab.example.org"


def test_the_quality_page_lists_follow_ups_and_qa_flags_per_interview(staff, person: Person, session_factory):
    with session_factory() as session, session.begin():
        session.execute(update(Interview).values(
            qa_flags=[{"flag": "silent_channel", "detail": "the participant channel holds no speech"}],
            checkpoint={"asked": ["a", "b", "c", "d"], "followups": {"a": 2, "c": 1}, "fallbacks": 1}))
    assert staff[Role.VIEWER].client.get("/staff/quality").status_code == 403
    page = staff[Role.RESEARCHER].client.get("/staff/quality").text
    row = page.split(f'<tr data-interview="{person.interview_id}">')[1].split("</tr>")[0]
    assert '<td class="num">4</td><td class="num">0.75</td>' in row and "silent_channel" in row
    assert "No safety event recorded." in page  # the events to review: tests/web/staff/test_safety_review.py
