"""The scheduler: plan, then send what is due, each action once.

``Scheduler.run_due()`` is what the Celery beat tick and ``voxbank schedule run-due`` call. It plans
(``planner``), then takes the due actions one by one: claim (``claims``), hand to the kind's handler
(``retest_actions``, ``payments``), and record the result, fenced on the claim:

- ``sent`` / ``cancelled`` / ``failed`` end the action (with ``sent_at`` or the reason in
  ``last_error``) and write an audit event;
- ``later`` releases it until a given time without counting a try (``moved`` also sets ``due_at``);
- ``retry`` (a transient failure: Prolific unreachable, 429/5xx after the client's own retries, an
  outcome to be checked) keeps it pending, records the error in ``last_error`` and holds it for an
  exponential backoff; after ``MAX_ATTEMPTS`` tries it fails.

The clock is injected (``clock``): tests and rehearsals run the same code at any time they choose;
nothing waits in a Celery countdown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.db import transaction
from storage.models import ScheduledAction, Study, utcnow
from storage.states import ActionStatus
from survey.backoff import backoff_s
from survey.prolific_api import ProlificClient, ProlificError, ProlificNotConfigured
from survey.scheduling import claims, payments, retest_actions
from survey.scheduling.handling import Clock, Job, ProlificSetup, Result
from survey.scheduling.planner import PlanReport, plan
from survey.scheduling.timeline import APPROVAL, BONUS, INVITATION, REMINDER, WINDOW_CLOSE, ScheduleSource

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
NOT_CONFIGURED_WAIT_S = 1800.0
ACTOR = "system:scheduler"

HANDLERS: dict[str, Callable[[Job], Result]] = {
    INVITATION: retest_actions.handle,
    REMINDER: retest_actions.handle,
    WINDOW_CLOSE: retest_actions.handle,
    APPROVAL: payments.handle_approval,
    BONUS: payments.handle_bonus,
}


def backoff(attempts: int) -> timedelta:
    """Wait after a failed try: 1, 2, 4 ... minutes, capped at 6 hours, each 50-100 %."""
    return timedelta(seconds=backoff_s(attempts, base_s=60.0, cap_s=6 * 3600.0))


def shifted_clock(at: datetime) -> Clock:
    """A clock that reads ``at`` now and runs on from there at the real rate (for rehearsals and tests)."""
    start = time.monotonic()
    return lambda: at + timedelta(seconds=time.monotonic() - start)


@dataclass
class Outcome:
    """What happened to one action in a run."""

    action_id: int
    kind: str
    participant_id: int
    result: str
    detail: str


@dataclass
class RunReport:
    """A run: what the planner changed, what each action came to, and what could not be tried."""

    planned: PlanReport = field(default_factory=PlanReport)
    outcomes: list[Outcome] = field(default_factory=list)
    waiting_for_prolific: int = 0
    study_found: bool = True

    def count(self, result: str) -> int:
        """How many actions came to ``result``."""
        return sum(1 for o in self.outcomes if o.result == result)


class Scheduler:
    """Plans and sends one study's scheduled actions."""

    def __init__(self, factory: sessionmaker[Session], schedule: ScheduleSource, client: ProlificClient | None,
                 setup: ProlificSetup | None = None, *, clock: Clock = utcnow,
                 lease_s: float = claims.LEASE_S) -> None:
        self.factory = factory
        self.schedule = schedule
        self.client = client
        self.setup = setup or ProlificSetup()
        self.clock = clock
        self.lease_s = lease_s

    def study_id(self, session: Session) -> int | None:
        """The study's row id (None until the app or a command has created it)."""
        return session.scalar(select(Study.id).where(Study.slug == self.schedule.slug))

    def plan(self) -> PlanReport | None:
        """Bring the rows in step (see ``planner``); None when the study has no row yet."""
        with transaction(self.factory) as session:
            study_id = self.study_id(session)
            if study_id is None:
                return None
            return plan(session, study_id, self.schedule.current(), self.clock())

    def run_due(self, *, limit: int = 500, budget_s: float | None = None) -> RunReport:
        """Plan, then handle up to ``limit`` due actions (stopping after ``budget_s`` seconds)."""
        report = RunReport()
        planned = self.plan()
        if planned is None:
            report.study_found = False
            return report
        report.planned = planned
        if self.client is None:
            with self.factory() as session:
                report.waiting_for_prolific = len(claims.due_ids(session, self.clock(), limit))
            return report
        started = time.monotonic()
        seen: set[int] = set()
        while len(seen) < limit:
            with self.factory() as session:
                batch = [i for i in claims.due_ids(session, self.clock(), min(50, limit) + len(seen))
                         if i not in seen]
            if not batch:
                break
            for action_id in batch[: limit - len(seen)]:
                if budget_s is not None and time.monotonic() - started > budget_s:
                    return report
                seen.add(action_id)
                outcome = self.process(action_id)
                if outcome is not None:
                    report.outcomes.append(outcome)
        return report

    def process(self, action_id: int) -> Outcome | None:
        """Claim one action and handle it; None when another worker holds it or it is no longer due."""
        assert self.client is not None
        claim = claims.claim(self.factory, action_id, self.clock(), self.lease_s)
        if claim is None:
            return None
        with self.factory() as session:
            action = session.get(ScheduledAction, action_id)
            assert action is not None
            kind, participant_id = action.kind, action.participant_id
            job = Job(session, action, claim, self.clock, self.client, self.setup, self.schedule.current(),
                      self.lease_s)
            try:
                result = HANDLERS[kind](job)
            except claims.LostClaim:
                session.rollback()
                return Outcome(action_id, kind, participant_id, "lost", "another worker took it over")
            except ProlificNotConfigured as error:
                session.rollback()
                result = Result.later(self.clock() + timedelta(seconds=NOT_CONFIGURED_WAIT_S), error.message)
            except ProlificError as error:
                session.rollback()
                result = Result("retry" if error.retryable else "failed", error.message)
            except Exception as error:  # a bug or a database hiccup: keep the action, record why, try later
                session.rollback()
                logger.exception("scheduled action failed unexpectedly", extra={"action_id": action_id})
                result = Result("retry", f"{type(error).__name__}: {error}"[:2000])
            try:
                final = self._record(session, job, result)
            except claims.LostClaim:
                session.rollback()
                return Outcome(action_id, kind, participant_id, "lost", "another worker took it over")
        return Outcome(action_id, kind, participant_id, final, result.detail)

    def _record(self, session: Session, job: Job, result: Result) -> str:
        now = self.clock()
        action = session.get(ScheduledAction, job.claim.action_id, populate_existing=True)
        assert action is not None
        outcome = result.outcome
        if outcome == "retry" and action.attempts >= MAX_ATTEMPTS:
            outcome, detail = "failed", f"gave up after {action.attempts} tries; last: {result.detail}"
        else:
            detail = result.detail
        target = f"scheduled_action:{action.id}"
        facts = {"kind": action.kind, "participant_id": action.participant_id, "attempts": action.attempts}
        if outcome == "sent":
            claims.release(session, job.claim, status=ActionStatus.SENT, sent_at=now, last_error=None)
            audit.record(session, ACTOR, "schedule.sent", target, facts)
        elif outcome in ("cancelled", "failed"):
            claims.release(session, job.claim, status=outcome, last_error=detail[:2000])
            audit.record(session, ACTOR, f"schedule.{outcome}", target, facts)
        elif outcome == "later":
            assert result.until is not None
            values: dict[str, Any] = {"attempts": max(0, action.attempts - 1),
                                      "last_error": detail[:2000] or action.last_error}
            if result.moved:
                values.update(due_at=result.until, last_error=action.last_error)
            claims.release(session, job.claim, until=None if result.moved else result.until, **values)
        else:  # retry
            claims.release(session, job.claim, until=now + backoff(action.attempts), last_error=detail[:2000])
        session.commit()
        return outcome


def counts(session: Session) -> dict[tuple[str, str], int]:
    """How many actions there are by (kind, status)."""
    rows = session.execute(select(ScheduledAction.kind, ScheduledAction.status, func.count())
                           .group_by(ScheduledAction.kind, ScheduledAction.status))
    return {(kind, status): int(n) for kind, status, n in rows}


def retry(session: Session, action_id: int, *, actor: str, pay_again: bool = False) -> ScheduledAction:
    """Put a failed (or cancelled) action back to pending, due now; the caller commits.

    A bonus whose pay request may have gone through keeps its guard unless ``pay_again`` is given
    (staff checked Prolific and saw no bonus): then the next run pays.
    """
    action = session.get(ScheduledAction, action_id)
    if action is None:
        raise LookupError(f"there is no scheduled action {action_id}")
    if action.status in (ActionStatus.SENT, ActionStatus.PENDING):
        raise ValueError(f"scheduled action {action_id} is {action.status}; only failed or cancelled ones are retried")
    payload = dict(action.payload or {})
    if payload.get("pay_requested_at"):
        if not pay_again:
            raise ValueError(f"scheduled action {action_id} may already have paid its bonus: check the bonus on "
                             "Prolific first, then add --pay-again to pay it")
        payload["pay_requested_at"] = None
    action.payload = payload
    action.status = ActionStatus.PENDING
    action.attempts = 0
    action.claimed_by = None
    action.claimed_until = None
    action.due_at = min(action.due_at, utcnow())
    audit.record(session, actor, "schedule.retry", f"scheduled_action:{action.id}",
                 {"kind": action.kind, "pay_again": pay_again})
    return action

