"""The retest's invitations, reminders and window close, sent against the Prolific stand-in with a
controllable clock: once, on time, re-checked at send time, and never to someone who withdrew."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from retest_fixtures import GROUP, RETEST_STUDY, T0, add_completer, pid, submission
from sqlalchemy import select

from storage.blobs import BlobStore
from storage.models import AuditEvent, Participant, ScheduledAction, Visit
from survey.withdrawal import withdraw
from voxbank.wiring import web_app

DAY = timedelta(days=1)


def actions(factory, participant_id: int | None = None) -> dict[str, ScheduledAction]:
    with factory() as session:
        query = select(ScheduledAction)
        if participant_id is not None:
            query = query.where(ScheduledAction.participant_id == participant_id)
        return {a.idempotency_key.split(":", 2)[-1]: a for a in session.scalars(query)}


def statuses(factory, participant_id: int) -> dict[str, str]:
    return {key: a.status for key, a in actions(factory, participant_id).items()}


def test_a_participant_who_completes_wave_1_is_invited_at_14_days_reminded_and_closed(
        settings, runtime, session_factory, make_scheduler, prolific, clock) -> None:
    from journey_bots import STUDY_ID, Bot, session_id

    app = web_app(settings, study=runtime.protocol)
    with TestClient(app, follow_redirects=True) as browser:
        bot = Bot(browser, pid(1))
        assert "Your completion code is" in bot.run(bot.enter()).text
    with session_factory() as session:
        participant = session.scalars(select(Participant)).one()
        first = session.scalars(select(Visit).where(Visit.wave == 1)).one()
    done = first.completed_at
    prolific.add_submission(session_id(1), STUDY_ID, pid(1))
    scheduler = make_scheduler()

    clock.at(done)
    report = scheduler.run_due()  # the moment wave 1 is completed: only its approval is due
    assert str(report.planned) == "5 planned, 0 moved to a new due time, 0 cancelled"
    assert [(o.kind, o.result) for o in report.outcomes] == [("approval", "sent")]
    assert prolific.state.submissions[session_id(1)]["status"] == "APPROVED"

    clock.at(done + 14 * DAY - timedelta(seconds=1))
    assert scheduler.run_due().outcomes == []
    assert prolific.messages_to(pid(1)) == [] and prolific.state.groups == {}

    clock.at(done + 14 * DAY)
    report = scheduler.run_due()
    assert [(o.kind, o.result, o.detail) for o in report.outcomes] == [
        ("invitation", "sent", "message sent (added to the allowlist group)")]
    assert prolific.state.groups[GROUP] == {pid(1)}
    [invitation] = prolific.messages_to(pid(1))
    assert f"https://app.prolific.com/studies/{RETEST_STUDY}" in invitation["body"]
    closes = done + 21 * DAY
    assert f"It stays open until {closes:%A} {closes.day} {closes:%B %Y} at {closes:%H:%M} UTC." in invitation["body"]
    assert invitation["data"] == {"study_id": RETEST_STUDY}
    assert scheduler.run_due().outcomes == []  # the same moment again: nothing twice

    for days, kind in ((16, "reminder"), (18, "reminder"), (21, "window_close")):
        clock.at(done + days * DAY)
        assert [(o.kind, o.result) for o in scheduler.run_due().outcomes] == [(kind, "sent")]
    assert len(prolific.messages_to(pid(1))) == 3
    assert prolific.state.groups[GROUP] == set()
    assert statuses(session_factory, participant.id) == {
        "w2:invitation": "sent", "w2:reminder1": "sent", "w2:reminder2": "sent", "w2:window_close": "sent",
        f"v{first.id}": "sent"}
    with session_factory() as session:
        sent = session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "system:scheduler")).all()
    assert sent.count("schedule.sent") == 5


def test_completing_wave_2_cancels_the_reminders_and_the_close(session_factory, study_id, make_scheduler, prolific,
                                                               clock) -> None:
    participant = add_completer(session_factory, study_id, 1, prolific=prolific)
    scheduler = make_scheduler()
    clock.at(T0 + 14 * DAY)
    assert [o.kind for o in scheduler.run_due().outcomes] == ["approval", "invitation"]
    with session_factory() as session, session.begin():
        session.add(Visit(participant_id=participant, wave=2, prolific_study_id=RETEST_STUDY,
                          prolific_session_id=submission(1, 2), status="completed", plan={"pages": []},
                          completed_at=T0 + 15 * DAY))
    prolific.add_submission(submission(1, 2), RETEST_STUDY, pid(1))

    clock.at(T0 + 16 * DAY)
    report = scheduler.run_due()
    assert str(report.planned) == "1 planned, 0 moved to a new due time, 3 cancelled"
    assert [(o.kind, o.result) for o in report.outcomes] == [("approval", "sent")]  # the wave-2 submission
    found = actions(session_factory, participant)
    assert {k: (a.status, a.last_error) for k, a in found.items() if k.startswith("w2:")} == {
        "w2:invitation": ("sent", None),
        "w2:reminder1": ("cancelled", "wave 2 is completed"),
        "w2:reminder2": ("cancelled", "wave 2 is completed"),
        "w2:window_close": ("cancelled", "wave 2 is completed"),
    }
    clock.at(T0 + 30 * DAY)
    assert scheduler.run_due().outcomes == []
    assert len(prolific.messages_to(pid(1))) == 1


def test_a_withdrawn_participant_gets_nothing(session_factory, study_id, make_scheduler, prolific, clock,
                                              tmp_path: Path) -> None:
    participant_id = add_completer(session_factory, study_id, 1, prolific=prolific)
    scheduler = make_scheduler()
    scheduler.run_due()
    with session_factory() as session, session.begin():
        withdraw(session, session.get(Participant, participant_id), "moving abroad", BlobStore(tmp_path / "blobs"))
    calls_before = len(prolific.calls)
    for days in (14, 16, 18, 21, 30):
        clock.at(T0 + days * DAY)
        assert scheduler.run_due().outcomes == []
    assert len(prolific.calls) == calls_before
    assert prolific.messages_to(pid(1)) == [] and prolific.state.groups == {}
    assert {k: (a.status, a.last_error) for k, a in actions(session_factory, participant_id).items()
            if k.startswith("w2:")} == {
        "w2:invitation": ("cancelled", "the participant is withdrawn"),
        "w2:reminder1": ("cancelled", "the participant is withdrawn"),
        "w2:reminder2": ("cancelled", "the participant is withdrawn"),
        "w2:window_close": ("cancelled", "the participant is withdrawn"),
    }


def test_withdrawing_after_the_invitation_takes_the_participant_off_the_allowlist_at_once(
        session_factory, study_id, make_scheduler, prolific, clock, tmp_path: Path) -> None:
    participant_id = add_completer(session_factory, study_id, 1, prolific=prolific)
    scheduler = make_scheduler()
    clock.at(T0 + 14 * DAY)
    scheduler.run_due()
    assert prolific.state.groups[GROUP] == {pid(1)}
    with session_factory() as session, session.begin():
        withdraw(session, session.get(Participant, participant_id), None, BlobStore(tmp_path / "blobs"))
    clock.at(T0 + 15 * DAY)
    report = scheduler.run_due()
    assert [(o.kind, o.result, o.detail) for o in report.outcomes] == [
        ("window_close", "sent", "taken off the allowlist group")]
    assert prolific.state.groups[GROUP] == set()
    assert len(prolific.messages_to(pid(1))) == 1


def test_an_edited_schedule_applies_to_every_action_not_yet_sent(session_factory, study_id, make_scheduler,
                                                                 prolific, clock, edited_study: Path) -> None:
    participant_id = add_completer(session_factory, study_id, 1, prolific=prolific)
    scheduler = make_scheduler(edited_study)
    scheduler.run_due()
    text = edited_study.read_text().replace("offset_days: 14", "offset_days: 10")
    edited_study.write_text(text.replace("reminders: {count: 2, every_days: 2}",
                                         "reminders: {count: 1, every_days: 3}"))

    clock.at(T0 + 10 * DAY)
    report = scheduler.run_due()
    assert str(report.planned) == "0 planned, 3 moved to a new due time, 1 cancelled"
    assert [(o.kind, o.result) for o in report.outcomes] == [("invitation", "sent")]
    found = actions(session_factory, participant_id)
    assert (found["w2:reminder1"].due_at, found["w2:window_close"].due_at) == (T0 + 13 * DAY, T0 + 17 * DAY)
    assert (found["w2:reminder2"].status, found["w2:reminder2"].last_error) == (
        "cancelled", "study.yaml now asks for 1 reminder(s)")


def test_an_action_the_schedule_moved_later_is_checked_again_at_send_time(
        session_factory, study_id, make_scheduler, prolific, clock, edited_study: Path) -> None:
    participant_id = add_completer(session_factory, study_id, 1, prolific=prolific)
    scheduler = make_scheduler(edited_study)
    scheduler.plan()
    edited_study.write_text(edited_study.read_text().replace("offset_days: 14", "offset_days: 16"))
    clock.at(T0 + 14 * DAY)
    invitation = actions(session_factory, participant_id)["w2:invitation"]
    outcome = scheduler.process(invitation.id)  # straight to the sender, as a worker holding it would
    assert outcome is not None and (outcome.result, outcome.detail) == ("later", "study.yaml's schedule puts it later")
    after = actions(session_factory, participant_id)["w2:invitation"]
    assert (after.status, after.due_at, after.attempts, after.claimed_until) == ("pending", T0 + 16 * DAY, 0, None)
    assert prolific.messages_to(pid(1)) == []


def test_rate_limits_and_lost_answers_never_send_a_message_twice(session_factory, study_id, make_scheduler,
                                                                 prolific, clock, sleeps) -> None:
    first = add_completer(session_factory, study_id, 1, prolific=prolific)
    second = add_completer(session_factory, study_id, 2, completed_at=T0 + DAY, prolific=prolific)
    scheduler = make_scheduler()
    scheduler.run_due()
    prolific.fail("POST", "/api/v1/messages/", "429", retry_after="7")  # asked to wait, then sent
    clock.at(T0 + 14 * DAY)
    assert [(o.participant_id, o.kind, o.result) for o in scheduler.run_due().outcomes] == [
        (second, "approval", "sent"), (first, "invitation", "sent")]
    assert sleeps == [7.0]

    prolific.fail("POST", "/api/v1/messages/", "500_after")  # sent, but the answer is lost
    clock.at(T0 + 15 * DAY)
    assert [(o.participant_id, o.result) for o in scheduler.run_due().outcomes] == [(second, "retry")]
    lost = actions(session_factory, second)["w2:invitation"]
    assert lost.last_error == ("POST /api/v1/messages/: Prolific answered 500: "
                               '{"error":{"detail":"stand-in 500 after acting"}}; it may have taken effect')
    assert lost.attempts == 1 and lost.claimed_until is not None and lost.claimed_until > T0 + 15 * DAY

    clock.at(T0 + 15 * DAY + timedelta(hours=1))  # past the backoff: the retry looks before it sends
    report = scheduler.run_due()
    assert [(o.participant_id, o.result, o.detail) for o in report.outcomes] == [
        (second, "sent", "message found sent by an earlier attempt (added to the allowlist group)")]
    assert len(prolific.messages_to(pid(1))) == 1 and len(prolific.messages_to(pid(2))) == 1
    assert prolific.count("POST", "/api/v1/messages/") == 3
    assert prolific.state.groups[GROUP] == {pid(1), pid(2)}


def test_a_failed_send_is_retried_after_a_backoff_and_given_up_after_eight_tries(
        session_factory, study_id, make_scheduler, prolific, clock, sleeps) -> None:
    participant_id = add_completer(session_factory, study_id, 1, prolific=prolific)
    scheduler = make_scheduler()
    scheduler.run_due()
    prolific.fail("POST", "/api/v1/participant-groups/.*", "503", times=100)
    moment = T0 + 14 * DAY
    for attempt in range(1, 9):
        clock.at(moment)
        [outcome] = scheduler.run_due().outcomes
        invitation = actions(session_factory, participant_id)["w2:invitation"]
        assert invitation.attempts == attempt
        moment = (invitation.claimed_until or moment) + timedelta(seconds=1)
    assert (outcome.result, invitation.status) == ("failed", "failed")
    assert invitation.last_error == (
        f"gave up after 8 tries; last: POST /api/v1/participant-groups/{GROUP}/participants/: answered 503: "
        '{"error":{"detail":"stand-in 503"}} (3 tries)')
    assert prolific.messages_to(pid(1)) == []


def test_approval_waits_for_the_submission_and_reports_one_that_cannot_be_approved(
        session_factory, study_id, make_scheduler, prolific, clock) -> None:
    for n, status in ((1, "APPROVED"), (2, "RETURNED"), (3, "ACTIVE"), (4, "AWAITING REVIEW")):
        add_completer(session_factory, study_id, n)
        prolific.add_submission(submission(n), "65a0f00d1234567890abcdef", pid(n), status=status)
    scheduler = make_scheduler()
    assert [(o.participant_id, o.result, o.detail) for o in scheduler.run_due().outcomes] == [
        (1, "sent", "already approved on Prolific"),
        (2, "failed", "the submission is RETURNED on Prolific and cannot be approved"),
        (3, "later", "the submission is ACTIVE on Prolific: waiting for the participant to submit it"),
        (4, "sent", "approved"),
    ]
    prolific.state.submissions[submission(3)]["status"] = "AWAITING REVIEW"  # they went back to Prolific
    clock.at(T0 + timedelta(minutes=16))
    assert [(o.participant_id, o.result) for o in scheduler.run_due().outcomes] == [(3, "sent")]
    assert prolific.count("POST", "/api/v1/submissions/.*/transition/") == 2


def test_a_submission_left_open_for_a_day_is_reported(session_factory, study_id, make_scheduler, prolific,
                                                      clock) -> None:
    add_completer(session_factory, study_id, 1)
    prolific.add_submission(submission(1), "65a0f00d1234567890abcdef", pid(1), status="ACTIVE")
    clock.at(T0 + timedelta(hours=25))
    [outcome] = make_scheduler().run_due().outcomes
    assert (outcome.result, outcome.detail) == ("failed", "the submission is still ACTIVE on Prolific a day after "
                                                "the visit was completed here: the participant may not have gone "
                                                "back to Prolific")


def test_without_a_token_nothing_is_sent_and_the_due_actions_wait(session_factory, study_id, runtime, clock) -> None:
    from survey.scheduling import Scheduler, ScheduleSource

    add_completer(session_factory, study_id, 1)
    clock.at(T0 + 14 * DAY)
    report = Scheduler(session_factory, ScheduleSource(runtime.protocol.file.path), None, clock=clock).run_due()
    assert (report.planned.created, report.waiting_for_prolific, report.outcomes) == (5, 2, [])


def test_the_reminder_waits_for_its_invitation(session_factory, study_id, make_scheduler, prolific, clock) -> None:
    participant_id = add_completer(session_factory, study_id, 1, prolific=prolific)
    scheduler = make_scheduler()
    scheduler.run_due()
    prolific.fail("POST", "/api/v1/participant-groups/.*", "503", times=3)
    clock.at(T0 + 16 * DAY)  # the scheduler was down for two days: invitation and reminder 1 are both due
    outcomes = [(o.kind, o.result) for o in scheduler.run_due().outcomes]
    assert outcomes == [("invitation", "retry"), ("reminder", "later")]
    found = actions(session_factory, participant_id)
    assert found["w2:reminder1"].last_error == "waiting for the invitation to be sent first"
    clock.at(T0 + 16 * DAY + timedelta(minutes=11))
    assert [(o.kind, o.result) for o in scheduler.run_due().outcomes] == [("invitation", "sent"), ("reminder", "sent")]
    assert len(prolific.messages_to(pid(1))) == 2
