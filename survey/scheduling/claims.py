"""Claiming a due action with a lease, so that exactly one worker sends it at a time.

A worker takes an action with one conditional UPDATE::

    UPDATE scheduled_actions SET claimed_until = :now + lease, attempts = attempts + 1
    WHERE id = :id AND status = 'pending' AND due_at <= :now
      AND (claimed_until IS NULL OR claimed_until < :now)

and holds it if exactly one row changed. On PostgreSQL (read committed) a second worker's UPDATE
waits for the first to commit, re-reads the row, finds the lease in force and changes nothing; on
SQLite the writes are serialised outright. The ``claimed_until`` value the worker wrote is its
token: every later write about the action (renewing the lease, recording progress, finishing) is
conditional on ``claimed_until = token``, so a worker whose lease lapsed and was taken over can no
longer change anything (a fencing token). A worker that dies simply stops renewing; once its lease
lapses the action is due again and the next tick takes it over, with ``attempts`` counting the try.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import ScheduledAction

LEASE_S = 300.0
"""How long a claim lasts; renewed before each call to Prolific, which takes at most about a minute."""


class LostClaim(Exception):
    """The worker's lease lapsed and another worker took the action over: stop, write nothing."""


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one action; ``token`` is the ``claimed_until`` it wrote."""

    action_id: int
    token: datetime


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of pending actions due at ``now`` that nobody holds, oldest due first."""
    return list(session.scalars(
        select(ScheduledAction.id)
        .where(ScheduledAction.status == "pending", ScheduledAction.due_at <= now,
               or_(ScheduledAction.claimed_until.is_(None), ScheduledAction.claimed_until < now))
        .order_by(ScheduledAction.due_at, ScheduledAction.id)
        .limit(limit)
    ))


def claim(factory: sessionmaker[Session], action_id: int, now: datetime, lease_s: float = LEASE_S) -> Claim | None:
    """Take the action if it is still due and free; None when another worker has it (or it is done)."""
    token = now + timedelta(seconds=lease_s)
    with factory() as session, session.begin():
        result = session.execute(
            update(ScheduledAction)
            .where(ScheduledAction.id == action_id, ScheduledAction.status == "pending",
                   ScheduledAction.due_at <= now,
                   or_(ScheduledAction.claimed_until.is_(None), ScheduledAction.claimed_until < now))
            .values(claimed_until=token, attempts=ScheduledAction.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        won = result.rowcount == 1  # type: ignore[attr-defined]
    return Claim(action_id, token) if won else None


def fenced_update(session: Session, claim_: Claim, **values: Any) -> None:
    """Update the action only while ``claim_`` still holds it; LostClaim otherwise. The caller commits."""
    result = session.execute(
        update(ScheduledAction)
        .where(ScheduledAction.id == claim_.action_id, ScheduledAction.status == "pending",
               ScheduledAction.claimed_until == claim_.token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LostClaim(f"scheduled action {claim_.action_id}: the claim lapsed and was taken over")


def renew(session: Session, claim_: Claim, now: datetime, lease_s: float = LEASE_S) -> Claim:
    """Extend the lease from ``now`` (fenced); returns the new claim. The caller commits."""
    renewed = Claim(claim_.action_id, max(now + timedelta(seconds=lease_s), claim_.token))
    if renewed.token == claim_.token:
        renewed = Claim(claim_.action_id, claim_.token + timedelta(microseconds=1))
    fenced_update(session, claim_, claimed_until=renewed.token)
    return renewed
