"""The append-only audit log: every state change and every staff read of sensitive data.

``details`` must never hold transcripts, answers or identities; it holds ids, counts and hashes.
The database refuses UPDATE and DELETE on the table (triggers in the initial migration).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEvent


def record(
    session: Session, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None
) -> AuditEvent:
    """Add an audit event to ``session``; it is written when the caller's transaction commits.

    ``actor`` is who did it (``staff:<email>``, ``participant:<pseudonym>``, ``system:<job>``),
    ``action`` a dotted verb (``transcript.read``, ``export.create``), ``target`` what it was done to
    (``interview:42``).
    """
    event = AuditEvent(actor=actor, action=action, target=target, details=dict(details or {}))
    session.add(event)
    session.flush()
    return event


def events_for(session: Session, target: str) -> list[AuditEvent]:
    """The audit events about one target, oldest first."""
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.target == target).order_by(AuditEvent.id))
    )
