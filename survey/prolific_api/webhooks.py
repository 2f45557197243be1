"""Prolific's ``submission.status.change`` webhook: check the signature, record the status once.

Prolific signs each delivery: ``X-Prolific-Request-Signature`` is the base64 HMAC-SHA256, keyed with
the webhook secret, of ``X-Prolific-Request-Timestamp`` followed by the raw body. Deliveries come at
least once and in any order: ``X-Event-ID`` is the same on every redelivery, ``X-Timestamp`` says
when the event was sent.

A verified event about a submission of one of our visits is written to the audit log
(``prolific.submission_status``, target ``prolific_submission:<id>``) unless that event id is there
already; the latest status of a submission is its newest such event by event time. ``APPROVED``
also settles the visit's pending approval (nothing left to do on Prolific). Events about
submissions we do not know are acknowledged and ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.models import AuditEvent, Participant, ScheduledAction, Visit, utcnow
from survey.errors import SurveyError
from survey.prolific_api.client import normalise_status
from survey.scheduling.timeline import approval_key

SUBMISSION_STATUS_CHANGE = "submission.status.change"
MAX_AGE_S = 24 * 3600
"""Signed requests older than this are refused (a replayed old delivery)."""
ACTION = "prolific.submission_status"


class WebhookRefused(SurveyError):
    """A webhook delivery that is not signed by Prolific with our secret (or is unreadable)."""

    status = 401
    title = "Webhook refused"


class WebhookNotConfigured(SurveyError):
    """No webhook secret is set, so no delivery can be checked."""

    status = 503
    title = "Webhook not configured"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature Prolific sends for ``body`` at ``timestamp`` (what a stand-in must produce)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(secret: str, timestamp: str | None, body: bytes, signature: str | None, *,
           now: datetime | None = None) -> str | None:
    """None when the signature is good and fresh; otherwise what is wrong (for the 401 answer)."""
    if not timestamp or not signature:
        return "the request is not signed (X-Prolific-Request-Signature and X-Prolific-Request-Timestamp)"
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.strip().encode()):
        return "the signature does not match"
    try:
        sent = datetime.fromtimestamp(float(timestamp), UTC)
    except (ValueError, OverflowError):
        return "the timestamp is not a UNIX time"
    if abs(((now or utcnow()) - sent).total_seconds()) > MAX_AGE_S:
        return "the signed request is too old"
    return None


@dataclass(frozen=True)
class StatusEvent:
    """One submission status change, as Prolific reported it."""

    event_id: str
    submission_id: str
    status: str
    sent_at: datetime | None
    study_id: str | None = None

    @classmethod
    def from_delivery(cls, payload: dict[str, Any], event_id: str | None, event_time: str | None) -> StatusEvent:
        """Read an event from the body and headers; ValueError naming what is missing."""
        submission = payload.get("resource_id") or payload.get("submission_id")
        if not submission:
            raise ValueError("the event names no submission (resource_id)")
        status = normalise_status(str(payload.get("status") or ""))
        sent_at = None
        if event_time:
            try:
                sent_at = datetime.fromtimestamp(float(event_time), UTC)
            except (ValueError, OverflowError):
                sent_at = None
        ident = event_id or f"{submission}:{status}:{event_time or ''}"
        study = payload.get("study_id")
        return cls(str(ident), str(submission), status, sent_at, str(study) if study else None)


def record_status(session: Session, study_id: int, event: StatusEvent, *, actor: str = "system:prolific") -> str:
    """Record one status event (see the module docstring); returns ``recorded``, ``duplicate`` or ``unknown``.

    The caller commits.
    """
    visit = session.scalars(
        select(Visit).join(Participant, Visit.participant_id == Participant.id)
        .where(Participant.study_id == study_id, Visit.prolific_session_id == event.submission_id)
    ).first()
    if visit is None:
        return "unknown"
    target = f"prolific_submission:{event.submission_id}"
    seen = session.scalars(select(AuditEvent.details).where(AuditEvent.target == target, AuditEvent.action == ACTION))
    if any(details.get("event_id") == event.event_id for details in seen):
        return "duplicate"
    audit.record(session, actor, ACTION, target, {
        "event_id": event.event_id, "status": event.status, "visit_id": visit.id, "wave": visit.wave,
        "event_at": event.sent_at.isoformat() if event.sent_at else None,
    })
    if event.status == "APPROVED":
        session.execute(
            update(ScheduledAction)
            .where(ScheduledAction.idempotency_key == approval_key(visit.id), ScheduledAction.status == "pending")
            .values(status="sent", sent_at=utcnow(), claimed_until=None, last_error="approved on Prolific")
            .execution_options(synchronize_session=False)
        )
    return "recorded"


def latest_statuses(session: Session, submission_ids: list[str]) -> dict[str, str]:
    """The newest recorded status of each submission (by event time, then by arrival)."""
    if not submission_ids:
        return {}
    targets = [f"prolific_submission:{s}" for s in submission_ids]
    best: dict[str, tuple[str, int, str]] = {}
    for event in session.scalars(select(AuditEvent).where(AuditEvent.action == ACTION,
                                                          AuditEvent.target.in_(targets))):
        key = (str(event.details.get("event_at") or ""), event.id)
        submission = event.target.removeprefix("prolific_submission:")
        if submission not in best or key > best[submission][:2]:
            best[submission] = (*key, str(event.details.get("status", "")))
    return {submission: value[2] for submission, value in best.items()}
