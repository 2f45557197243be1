"""Sending the retest's invitation, reminders and window close, after checking they still apply.

At send time, from the database and study.yaml as they are now:

- the participant must be active (a withdrawal cancels everything but taking them off the allowlist)
  and must not have completed the wave; the window must not have closed;
- the due time is computed again from study.yaml, and an action the schedule has moved later waits;
- a reminder waits for its invitation to be sent, and is cancelled if the invitation was.

The invitation adds the participant to the participant group the later wave's Prolific study
allowlists (idempotent), then sends a message with the link; the window close takes them off the
group. A message is sent once: before sending, the action records the message's hash and the time,
and an attempt that finds that record (an earlier attempt died mid-send) first asks Prolific for the
messages sent since, and sends only if the message is not among them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select

from storage.models import Participant, ScheduledAction, Visit
from storage.states import ActionStatus, ParticipantStatus, VisitStatus
from survey.prolific_api import PARTICIPANT_STUDY_URL
from survey.scheduling import messages
from survey.scheduling.handling import Job, Result
from survey.scheduling.timeline import INVITATION, REMINDER, WINDOW_CLOSE, retest_key

LOOKBACK = timedelta(minutes=5)
"""Clock slack when asking Prolific for the messages sent since an interrupted attempt."""
WAIT_FOR_INVITATION_S = 600.0


def handle(job: Job) -> Result:
    """Send (or cancel, or put off) an invitation, reminder or window close."""
    action = job.action
    wave = int(action.payload.get("wave", 0))
    session = job.session
    participant = session.get(Participant, action.participant_id)
    if participant is None:
        return Result.cancelled("the participant no longer exists")
    first = _visit(job, participant.id, 1)
    later = _visit(job, participant.id, wave)
    timeline = job.waves.get(wave)
    if timeline is None:
        return Result.cancelled(f"study.yaml has no wave {wave} now")
    if first is None or first.status != VisitStatus.COMPLETED or first.completed_at is None:
        return Result.cancelled("wave 1 is not completed")
    if later is not None and later.status == VisitStatus.COMPLETED:
        return Result.cancelled(f"wave {wave} is already completed")
    window = timeline.window(first.completed_at)
    now = job.now()
    active = participant.status == ParticipantStatus.ACTIVE
    if action.kind == WINDOW_CLOSE:
        return _close(job, participant, window.closes_at, active)
    if not active:
        return Result.cancelled(f"the participant is {participant.status}")
    due = timeline.due(action.kind, first.completed_at, action.payload.get("reminder"))
    if due is None:
        return Result.cancelled(f"study.yaml now asks for {timeline.reminder_count} reminder(s)")
    if now < due:
        return Result.later(due, "study.yaml's schedule puts it later", moved=True)
    if now >= window.closes_at:
        return Result.cancelled(f"the wave {wave} window closed at {window.closes_at:%Y-%m-%d %H:%M} UTC")
    if action.kind == REMINDER:
        invitation = _sibling(job, INVITATION)
        if invitation is None or invitation.status == ActionStatus.PENDING:
            return job.later_by(WAIT_FOR_INVITATION_S, "waiting for the invitation to be sent first")
        if invitation.status != ActionStatus.SENT:
            return Result.cancelled(f"the invitation was {invitation.status}")
    study_id = job.require(job.setup.retest_study_id, "VOXBANK_PROLIFIC_RETEST_STUDY_ID",
                           f"invitations link to the wave-{wave} study on Prolific")
    link = PARTICIPANT_STUDY_URL.format(study_id=study_id)
    if action.kind == INVITATION:
        group = job.setup.retest_group_id
        if group:
            job.before_call()
            job.client.add_to_group(group, [participant.prolific_pid])
        body = messages.invitation(window, link)
    else:
        body = messages.reminder(window, link, int(action.payload.get("reminder", 1)))
    how = send_message_once(job, participant.prolific_pid, body, study_id)
    added = " (added to the allowlist group)" if action.kind == INVITATION and job.setup.retest_group_id else ""
    return Result.sent(f"message {how}{added}")


def _close(job: Job, participant: Participant, closes_at: datetime, active: bool) -> Result:
    now = job.now()
    if active and now < closes_at:
        return Result.later(closes_at, "study.yaml's schedule puts it later", moved=True)
    invitation = _sibling(job, INVITATION)
    if invitation is not None and invitation.status == ActionStatus.PENDING:
        return job.later_by(WAIT_FOR_INVITATION_S, "waiting for the invitation to be settled first")
    if invitation is None or invitation.status != ActionStatus.SENT:
        return Result.cancelled("no invitation was sent: nothing to close")
    group = job.setup.retest_group_id
    if not group:
        return Result.sent("window closed (no allowlist group is configured)")
    job.before_call()
    job.client.remove_from_group(group, [participant.prolific_pid])
    return Result.sent("taken off the allowlist group")


def send_message_once(job: Job, participant_pid: str, body: str, study_id: str) -> str:
    """Send ``body`` unless an interrupted earlier attempt already did; returns "sent" or "found sent"."""
    marker = job.payload.get("message")
    if marker:
        since = datetime.fromisoformat(marker["at"]) - LOOKBACK
        for message in job.client.messages_with(participant_pid, since):
            if _sha256(str(message.get("body", ""))) == marker["sha256"]:
                return "found sent by an earlier attempt"
    job.before_call(message={"at": job.now().isoformat(), "sha256": _sha256(body)})
    job.client.send_message(participant_pid, body, study_id)
    return "sent"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _visit(job: Job, participant_id: int, wave: int) -> Visit | None:
    return job.session.scalars(
        select(Visit).where(Visit.participant_id == participant_id, Visit.wave == wave)
        .execution_options(populate_existing=True)
    ).first()


def _sibling(job: Job, kind: str) -> ScheduledAction | None:
    key = retest_key(job.action.participant_id, int(job.action.payload.get("wave", 0)), kind)
    return job.session.scalars(
        select(ScheduledAction).where(ScheduledAction.idempotency_key == key)
        .execution_options(populate_existing=True)
    ).first()
