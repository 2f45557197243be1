"""Claiming a due action with a lease, so that exactly one worker sends it at a time.

The lease is ``storage.leases``'s, shared with the transcription job: a worker takes an action with
one conditional UPDATE::

    UPDATE scheduled_actions SET claimed_by = :token, claimed_until = :now + lease, attempts = attempts + 1
    WHERE id = :id AND status = 'pending' AND due_at <= :now
      AND (claimed_until IS NULL OR claimed_until < :now)

and holds it if exactly one row changed. The token is fresh for every claim; every later write about
the action (renewing the lease, recording progress, finishing) is conditional on ``claimed_by =
token``, so a worker whose lease lapsed and was taken over can no longer change anything (a fencing
token). A worker that dies simply stops renewing; once its lease lapses the action is due again and
the next tick takes it over, with ``attempts`` counting the try. ``claimed_until`` with no holder
keeps an action from everyone until then (waiting on Prolific, or backing off after a failure).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import leases
from storage.models import ScheduledAction
from storage.states import ActionStatus

LEASE_S = 300.0
"""How long a claim lasts; renewed before each call to Prolific, which takes at most about a minute."""

LEASE = leases.LeaseColumns(key=ScheduledAction.id, holder=ScheduledAction.claimed_by,
                            until=ScheduledAction.claimed_until, attempts=ScheduledAction.attempts)
"""Where an action's lease lives."""


class LostClaim(Exception):
    """The worker's lease lapsed and another worker took the action over: stop, write nothing."""


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one action; ``token`` is the ``claimed_by`` it wrote."""

    action_id: int
    token: str


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of pending actions due at ``now`` that nobody holds, oldest due first."""
    return list(session.scalars(
        select(ScheduledAction.id)
        .where(ScheduledAction.status == ActionStatus.PENDING, ScheduledAction.due_at <= now, LEASE.free(now))
        .order_by(ScheduledAction.due_at, ScheduledAction.id)
        .limit(limit)
    ))


def claim(factory: sessionmaker[Session], action_id: int, now: datetime, lease_s: float = LEASE_S) -> Claim | None:
    """Take the action if it is still due and free; None when another worker has it (or it is done)."""
    token = uuid.uuid4().hex
    with factory() as session, session.begin():
        won = leases.take(session, LEASE, action_id, token, now=now, lease_s=lease_s,
                          when=(ScheduledAction.status == ActionStatus.PENDING) & (ScheduledAction.due_at <= now)
                          & LEASE.free(now))
    return Claim(action_id, token) if won else None


def fenced_update(session: Session, claim_: Claim, **values: Any) -> None:
    """Update the action only while ``claim_`` still holds it; LostClaim otherwise. The caller commits."""
    if not leases.fenced_update(session, LEASE, claim_.action_id, claim_.token, values,
                                when=ScheduledAction.status == ActionStatus.PENDING):
        raise LostClaim(f"scheduled action {claim_.action_id}: the claim lapsed and was taken over")


def release(session: Session, claim_: Claim, *, until: datetime | None = None, **values: Any) -> None:
    """Give the action up (fenced), writing ``values``; ``until`` keeps it from everyone till then."""
    fenced_update(session, claim_, claimed_by=None, claimed_until=until, **values)


def renew(session: Session, claim_: Claim, now: datetime, lease_s: float = LEASE_S) -> Claim:
    """Extend the lease from ``now`` (fenced); returns the claim. The caller commits."""
    if not leases.renew(session, LEASE, claim_.action_id, claim_.token, now=now, lease_s=lease_s,
                        when=ScheduledAction.status == ActionStatus.PENDING):
        raise LostClaim(f"scheduled action {claim_.action_id}: the claim lapsed and was taken over")
    return claim_
