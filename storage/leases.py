"""Row leases: one worker holds a row for a while, and only the holder may write its outcome.

Used by the offline transcription job (a lease on an ``interviews`` row) and by the study scheduler
(a lease on a ``scheduled_actions`` row). A table that carries a lease has three columns, named in
a ``LeaseColumns``: the holder (a string token), the time the lease runs until, and an attempt count.

Fencing is by holder token. A worker takes a row with one compare-and-set UPDATE that writes its
token, the lease's end and ``attempts + 1``; it holds the row if exactly one row changed. On
PostgreSQL (read committed) a second worker's UPDATE waits for the first to commit, re-reads the
row, finds the lease in force and changes nothing; on SQLite the writes are serialised outright.
Every later write about the row (renewing, recording progress, finishing) is conditional on
``holder = token``, so a worker whose lease lapsed and was taken over can no longer change anything.

Why the holder and not the lease's end as the token: the end changes at every renewal, so a
fencing ``until = token`` must carry the new value back to the caller after each write and must
never write the same instant twice (two renewals in one clock tick would collide); a datetime also
round-trips through SQLite as text and through PostgreSQL as a timestamp, and equality has to
survive both. A holder token never changes while the lease is held, it names who holds the row in
logs and audit events, and the same claimant (a retried Celery task carries its task id) can take
its own row back at once instead of waiting for the lease to lapse.

The lease's end is also what makes a row free: ``until IS NULL OR until < now``. A row may be kept
from everyone until a time with no holder at all (a scheduled action waiting on Prolific, or
backing off after a failure), which the same condition covers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self, cast

from sqlalchemy import ColumnElement, CursorResult, and_, or_, true, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseColumns:
    """The columns of one table that carry a lease, and the table's key."""

    key: InstrumentedAttribute[int]
    holder: InstrumentedAttribute[Any]
    until: InstrumentedAttribute[Any]
    attempts: InstrumentedAttribute[int]

    def free(self, now: datetime) -> ColumnElement[bool]:
        """The row's lease (or hold) has run out, or there never was one."""
        return or_(self.until.is_(None), self.until < now)

    def lapsed(self, now: datetime) -> ColumnElement[bool]:
        """A holder took the row and stopped renewing before ``now``."""
        return and_(self.until.is_not(None), self.until < now)

    def held_by(self, holder: str | None) -> ColumnElement[bool]:
        """Held by ``holder`` (None: a row taken before holders were recorded)."""
        return self.holder == holder

    def released(self) -> dict[Any, Any]:
        """The values that give the row up: no holder, no lease."""
        return {self.holder: None, self.until: None}


def changed_rows(session: Session, statement: Any) -> int:
    """Run an UPDATE and return how many rows it changed (the outcome of a compare-and-set)."""
    result = cast(CursorResult[Any], session.execute(statement.execution_options(synchronize_session=False)))
    return int(result.rowcount)


def take(session: Session, columns: LeaseColumns, row_id: int, holder: str, *, now: datetime, lease_s: float,
         when: ColumnElement[bool] | None = None, values: Mapping[Any, Any] | None = None) -> bool:
    """Take the row for ``holder`` if ``when`` holds; True when it is now ours. The caller commits.

    ``when`` is the whole condition under which the row may be taken (its state, and whether it is
    free, lapsed or already ours); ``values`` are written along with the lease.
    """
    return changed_rows(session, update(columns.key.class_)
                        .where(columns.key == row_id, true() if when is None else when)
                        .values({columns.holder: holder, columns.until: now + timedelta(seconds=lease_s),
                                 columns.attempts: columns.attempts + 1, **dict(values or {})})) == 1


def fenced_update(session: Session, columns: LeaseColumns, row_id: int, holder: str | None,
                  values: Mapping[Any, Any], *, when: ColumnElement[bool] | None = None) -> bool:
    """Write ``values`` only while ``holder`` still holds the row (and ``when`` holds); False otherwise."""
    return changed_rows(session, update(columns.key.class_)
                        .where(columns.key == row_id, columns.held_by(holder), true() if when is None else when)
                        .values(dict(values))) == 1


def renew(session: Session, columns: LeaseColumns, row_id: int, holder: str, *, now: datetime, lease_s: float,
          when: ColumnElement[bool] | None = None, values: Mapping[Any, Any] | None = None) -> bool:
    """Extend the lease to ``now + lease_s`` (fenced), writing ``values`` with it; False when lost."""
    return fenced_update(session, columns, row_id, holder,
                         {columns.until: now + timedelta(seconds=lease_s), **dict(values or {})}, when=when)


class Heartbeat:
    """Renews a lease from a background thread every third of ``lease_s``; notices when it is lost.

    ``extend`` returns False once the lease is no longer ours; an error while renewing is logged and
    tried again at the next beat (if the lease lapses meanwhile, the holder's final write is fenced).
    """

    def __init__(self, extend: Callable[[], bool], lease_s: float, *, name: str) -> None:
        self._extend = extend
        self.lease_s = lease_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            self.renew()

    def renew(self) -> bool:
        """Renew once now; returns False once the lease is lost."""
        try:
            renewed = self._extend()
        except SQLAlchemyError:
            logger.warning("could not renew a lease", extra={"lease": self._thread.name}, exc_info=True)
            return True
        if not renewed:
            self.lost.set()
        return renewed
