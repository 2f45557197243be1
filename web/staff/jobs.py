"""What the jobs page shows besides queue depths (`web.broker_queues`): transcriptions, scheduled actions,
bonuses, Prolific sync."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import AuditEvent, Bonus, Interview, Participant, ScheduledAction, Visit, utcnow
from survey.prolific_api.webhooks import ACTION as SUBMISSION_STATUS


def transcriptions(session: Session, study_id: int) -> tuple[Counter[str], list[tuple[Interview, str]]]:
    """Counts by transcription status, and the interviews whose transcription is not done (failed first)."""
    base = (select(Interview, Participant.pseudonym_id).join(Visit, Interview.visit_id == Visit.id)
            .join(Participant, Visit.participant_id == Participant.id).where(Participant.study_id == study_id))
    counts = Counter({status: int(n) for status, n in session.execute(
        select(Interview.transcription_status, func.count()).join(Visit, Interview.visit_id == Visit.id)
        .join(Participant, Visit.participant_id == Participant.id).where(Participant.study_id == study_id)
        .group_by(Interview.transcription_status))})
    rows = [(i, p) for i, p in session.execute(base.where(Interview.transcription_status.in_(
        ("failed", "pending", "running"))).order_by(Interview.transcription_status != "failed", Interview.id))]
    return counts, rows


def actions(session: Session, study_id: int, limit: int = 200) -> list[tuple[ScheduledAction, str]]:
    """Scheduled actions that failed, and pending ones already due, failed first."""
    now = utcnow()
    return [(a, p) for a, p in session.execute(
        select(ScheduledAction, Participant.pseudonym_id)
        .join(Participant, ScheduledAction.participant_id == Participant.id)
        .where(Participant.study_id == study_id,
               (ScheduledAction.status == "failed")
               | ((ScheduledAction.status == "pending") & (ScheduledAction.due_at <= now)))
        .order_by(ScheduledAction.status != "failed", ScheduledAction.due_at).limit(limit))]


def action_counts(session: Session) -> dict[tuple[str, str], int]:
    """Scheduled actions by (kind, status)."""
    from survey.scheduling.runner import counts

    return counts(session)


def bonuses(session: Session, study_id: int) -> list[tuple[str, int, int]]:
    """Bonuses by status: (status, how many, total cents)."""
    return [(status, int(n), int(cents or 0)) for status, n, cents in session.execute(
        select(Bonus.status, func.count(), func.sum(Bonus.amount_cents))
        .join(Participant, Bonus.participant_id == Participant.id).where(Participant.study_id == study_id)
        .group_by(Bonus.status).order_by(Bonus.status))]


def prolific_sync(session: Session) -> tuple[Counter[str], AuditEvent | None]:
    """Submission statuses Prolific reported (webhook or sync), by status, and the latest report."""
    statuses: Counter[str] = Counter()
    latest = None
    for event in session.scalars(select(AuditEvent).where(AuditEvent.action == SUBMISSION_STATUS)
                                 .order_by(AuditEvent.id)):
        statuses[str(event.details.get("status"))] += 1
        latest = event
    return statuses, latest
