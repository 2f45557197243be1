"""What the jobs page shows: broker queue depths, transcriptions, scheduled actions, bonuses, Prolific sync."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from kombu import Connection
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import AuditEvent, Bonus, Interview, Participant, ScheduledAction, Visit, utcnow
from survey.prolific_api.webhooks import ACTION as SUBMISSION_STATUS

BROKER_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class QueueDepth:
    """Messages waiting in one broker queue, or why that could not be read."""

    queue: str
    messages: int | None
    problem: str | None = None


def queue_depths(broker_url: str, queues: Sequence[str]) -> list[QueueDepth]:
    """Messages waiting in each of the queues (an absent queue holds none)."""
    out = []
    try:
        # Redis takes a socket timeout; the embedded SQLAlchemy transport would pass it to create_engine.
        options = {"socket_timeout": BROKER_TIMEOUT_S} if broker_url.startswith(("redis", "rediss")) else {}
        with Connection(broker_url, connect_timeout=BROKER_TIMEOUT_S, transport_options=options) as connection:
            channel = connection.default_channel
            for name in queues:
                try:
                    out.append(QueueDepth(name, int(channel.queue_declare(queue=name, passive=True).message_count)))
                except Exception as error:  # kombu raises transport-specific errors for a queue never declared
                    if "404" in str(error) or "NOT_FOUND" in str(error):
                        out.append(QueueDepth(name, 0))
                    else:
                        out.append(QueueDepth(name, None, type(error).__name__))
    except Exception as error:  # an unreachable broker: say so on the page instead of failing it
        return [QueueDepth(name, None, f"broker unreachable ({type(error).__name__})") for name in queues]
    return out


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
