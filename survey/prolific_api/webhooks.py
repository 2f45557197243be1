"""Prolific's ``submission.status.change`` webhook: check the signature, record the status once.

Prolific signs each delivery: ``X-Prolific-Request-Signature`` is the base64 HMAC-SHA256, keyed with
the webhook secret, of ``X-Prolific-Request-Timestamp`` followed by the raw body. Deliveries come at
least once and in any order: ``X-Event-ID`` is the same on every redelivery, ``X-Timestamp`` says
when the event was sent.

A verified event about a submission of one of our visits is written to the audit log
(``prolific.submission_status``, target ``prolific_submission:<id>``) unless it is there already:
``X-Event-ID`` is not covered by the signature, so a delivery is a duplicate when either its event
id or the sha256 of its signed body has been recorded (a captured delivery replayed under a new
event id is still a duplicate). The signed timestamp must be neither older than `MAX_AGE_S` nor
more than `MAX_SKEW_S` in the future, and the event's own time (``X-Timestamp``) may not be later
than the signature's: an event "dated 2100" is refused. The latest status of a submission is its
newest event by event time, except that a final status (approved, rejected) is never replaced by
an earlier stage of the submission's life. ``APPROVED`` also settles the visit's pending approval
(nothing left to do on Prolific). Events about submissions we do not know are acknowledged and
ignored.
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
from storage.states import ActionStatus
from survey.errors import SurveyError
from survey.prolific_api.client import normalise_status
from survey.scheduling.timeline import approval_key

SUBMISSION_STATUS_CHANGE = "submission.status.change"
MAX_AGE_S = 24 * 3600
"""Signed requests older than this are refused (a replayed old delivery)."""
MAX_SKEW_S = 300
"""Signed requests (and events) dated later than this ahead of our clock are refused."""
FINAL_STATUSES = ("APPROVED", "REJECTED")
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
    except (ValueError, OverflowError, OSError):
        return "the timestamp is not a UNIX time"
    age = ((now or utcnow()) - sent).total_seconds()
    if age > MAX_AGE_S:
        return "the signed request is too old"
    if age < -MAX_SKEW_S:
        return "the signed request is dated in the future"
    return None


@dataclass(frozen=True)
class StatusEvent:
    """One submission status change, as Prolific reported it."""

    event_id: str
    submission_id: str
    status: str
    sent_at: datetime | None
    study_id: str | None = None
    content_sha256: str | None = None
    """The sha256 of the signed body: what de-duplicates a replay under another (unsigned) event id."""

    @classmethod
    def from_delivery(cls, payload: dict[str, Any], event_id: str | None, event_time: str | None, *,
                      signed_at: datetime | None = None, body: bytes | None = None) -> StatusEvent:
        """Read an event from the body and headers; ValueError naming what is missing or impossible.

        ``signed_at`` is the verified signature's time: the event may not be dated after it (beyond
        `MAX_SKEW_S`), and stands in for a missing or unreadable ``X-Timestamp``.
        """
        submission = payload.get("resource_id") or payload.get("submission_id")
        if not submission:
            raise ValueError("the event names no submission (resource_id)")
        status = normalise_status(str(payload.get("status") or ""))
        sent_at = None
        if event_time:
            try:
                sent_at = datetime.fromtimestamp(float(event_time), UTC)
            except (ValueError, OverflowError, OSError):
                sent_at = None
        if signed_at is not None:
            if sent_at is not None and (sent_at - signed_at).total_seconds() > MAX_SKEW_S:
                raise ValueError("the event is dated after its signature")
            sent_at = sent_at or signed_at
        ident = event_id or f"{submission}:{status}:{event_time or ''}"
        study = payload.get("study_id")
        digest = hashlib.sha256(body).hexdigest() if body is not None else None
        return cls(str(ident), str(submission), status, sent_at, str(study) if study else None, digest)


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
    if any(details.get("event_id") == event.event_id
           or (event.content_sha256 is not None and details.get("content_sha256") == event.content_sha256)
           for details in seen):
        return "duplicate"
    audit.record(session, actor, ACTION, target, {
        "event_id": event.event_id, "status": event.status, "visit_id": visit.id, "wave": visit.wave,
        "event_at": event.sent_at.isoformat() if event.sent_at else None, "content_sha256": event.content_sha256,
    })
    if event.status == "APPROVED":
        session.execute(
            update(ScheduledAction)
            .where(ScheduledAction.idempotency_key == approval_key(visit.id),
                   ScheduledAction.status == ActionStatus.PENDING)
            .values(status=ActionStatus.SENT, sent_at=utcnow(), claimed_by=None, claimed_until=None,
                    last_error="approved on Prolific")
            .execution_options(synchronize_session=False)
        )
    return "recorded"


def latest_statuses(session: Session, submission_ids: list[str]) -> dict[str, str]:
    """The newest recorded status of each submission (by event time, then by arrival)."""
    if not submission_ids:
        return {}
    targets = [f"prolific_submission:{s}" for s in submission_ids]
    best: dict[str, tuple[bool, str, int, str]] = {}
    for event in session.scalars(select(AuditEvent).where(AuditEvent.action == ACTION,
                                                          AuditEvent.target.in_(targets))):
        status = str(event.details.get("status", ""))
        # a final status outranks any stage before it, whatever the clocks say; then newest event, then arrival
        key = (status in FINAL_STATUSES, str(event.details.get("event_at") or ""), event.id)
        submission = event.target.removeprefix("prolific_submission:")
        if submission not in best or key > best[submission][:3]:
            best[submission] = (*key, status)
    return {submission: value[3] for submission, value in best.items()}
