"""Presence: pauses add up, an interview nobody came back to is marked abandoned and staff see it,
and a reload knows which question was already heard."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.voice import presence
from protocols import load_study
from storage.db import transaction
from storage.models import AuditEvent, Interview, Turn, Visit, utcnow
from tests.interviewer.voice.helpers import admitted_participant
from web.staff.live import interviews


def _interview(factory: sessionmaker[Session]) -> int:
    _participant, visit_id = admitted_participant(factory)
    with transaction(factory) as session:
        interview = Interview(visit_id=visit_id, mode="voice", guide_id="short", protocol_version="1",
                              protocol_hash="0" * 64, status="in_progress", checkpoint={"position": 0},
                              started_at=utcnow() - timedelta(hours=1))
        session.add(interview)
        session.flush()
        return interview.id


def test_pauses_add_up_and_each_is_audited_with_its_reason(session_factory: sessionmaker[Session]) -> None:
    interview_id = _interview(session_factory)
    start = utcnow()
    assert presence.pause(session_factory, interview_id, "button", at=start)
    assert not presence.pause(session_factory, interview_id, "button", at=start)  # already paused
    assert presence.resume(session_factory, interview_id, "button", at=start + timedelta(seconds=30)) == 30
    presence.pause(session_factory, interview_id, "disconnected", at=start + timedelta(seconds=40))
    presence.resume(session_factory, interview_id, "connected", at=start + timedelta(seconds=50))
    with session_factory() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None and interview.paused_at is None and interview.paused_s == 40
        details = [(event.action, event.details["reason"]) for event in session.scalars(
            select(AuditEvent).where(AuditEvent.target == f"interview:{interview_id}").order_by(AuditEvent.id))]
    assert details == [("interview.paused", "button"), ("interview.resumed", "button"),
                       ("interview.paused", "disconnected"), ("interview.resumed", "connected")]


def test_an_interview_left_without_a_participant_is_abandoned_after_the_set_time_and_staff_see_it(
        session_factory: sessionmaker[Session]) -> None:
    interview_id = _interview(session_factory)
    left = utcnow() - timedelta(minutes=20)
    presence.pause(session_factory, interview_id, "disconnected", at=left)
    assert not presence.abandon_if_away(session_factory, interview_id, after_s=1800)  # 20 of 30 minutes
    assert presence.abandon_if_away(session_factory, interview_id, after_s=600)
    with session_factory() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None
        assert (interview.status, interview.end_reason) == ("abandoned",
                                                            "abandoned: no participant connected for 10 minutes")
        visit = session.get(Visit, interview.visit_id)
        assert visit is not None
        study_id = visit.participant.study_id
        rows = interviews(session, load_study(), study_id)
    assert [(row.interview_id, row.status, row.abandoned) for row in rows] == [(interview_id, "abandoned", True)]


def test_a_reload_knows_the_last_question_was_heard_only_once_it_played_to_its_end(
        session_factory: sessionmaker[Session]) -> None:
    interview_id = _interview(session_factory)
    with transaction(session_factory) as session:
        for seq, (speaker, text) in enumerate([("interviewer", "Hello."), ("interviewer", "Where did you grow up?"),
                                               ("participant", "Ohio."), ("interviewer", "What do you do?")]):
            session.add(Turn(interview_id=interview_id, seq=seq, speaker=speaker, kind="scripted", text=text,
                             start_s=seq, end_s=seq + 1, protocol_hash="0" * 64))
    presence.mark_heard(session_factory, interview_id, 1)
    assert presence.last_reply_heard(session_factory, interview_id) is None  # "What do you do?" was cut off
    presence.mark_heard(session_factory, interview_id, 3)
    presence.mark_heard(session_factory, interview_id, 2)  # a late report never goes back
    assert presence.last_reply_heard(session_factory, interview_id) == "What do you do?"


def test_the_sweep_abandons_interviews_whose_process_is_gone_and_leaves_live_ones(
        session_factory: sessionmaker[Session]) -> None:
    paused_long_ago, silent_since_start, live = (_interview(session_factory) for _ in range(3))
    presence.pause(session_factory, paused_long_ago, "disconnected", at=utcnow() - timedelta(minutes=40))
    with transaction(session_factory) as session:
        session.add(Turn(interview_id=live, seq=0, speaker="participant", kind="answer", text="I grew up in Ohio.",
                         start_s=0.0, end_s=2.0, protocol_hash="0" * 64, created_at=utcnow() - timedelta(minutes=1)))
    assert sorted(presence.abandon_stale(session_factory, after_s=1800)) == sorted([paused_long_ago,
                                                                                    silent_since_start])
    with session_factory() as session:
        statuses = {i: session.get(Interview, i).status for i in (paused_long_ago, silent_since_start, live)}  # type: ignore[union-attr]
        reasons = [event.details["reason"] for event in session.scalars(
            select(AuditEvent).where(AuditEvent.target == f"interview:{silent_since_start}",
                                     AuditEvent.action == "interview.paused"))]
    assert statuses == {paused_long_ago: "abandoned", silent_since_start: "abandoned", live: "in_progress"}
    assert reasons == ["silent"]
