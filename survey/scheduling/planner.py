"""The planner: keep the scheduled-action rows in step with the participants and with study.yaml.

Run at the start of every tick (and by ``voxbank schedule run-due`` and ``voxbank prolific sync``),
it needs no hook in the journey: it looks at what happened and writes what follows from it.

- a participant who completed wave 1 gets, per later wave, an invitation, the reminders and the
  window close, at the times study.yaml gives *now* (see ``timeline``): pending rows are moved when
  the schedule changes, reminders study.yaml no longer asks for are cancelled, new ones are added;
- a participant who withdrew (or is otherwise no longer active) has every pending retest action
  cancelled; one who completed a later wave has that wave's pending actions cancelled;
- a completed visit with a Prolific submission gets an approval, and a computed bonus a payment.

Rows are inserted with ON CONFLICT DO NOTHING on ``idempotency_key``, so two planners at once write
each row once, and rows a worker holds right now (an unexpired claim) are left alone: the sender
checks everything again before it acts. The caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Bonus, Participant, ScheduledAction, Visit
from storage.states import ActionStatus, BonusStatus, ParticipantStatus, VisitStatus
from survey.scheduling.claims import LEASE
from survey.scheduling.timeline import (
    APPROVAL,
    BONUS,
    INVITATION,
    REMINDER,
    RETEST_KINDS,
    WINDOW_CLOSE,
    WaveTimeline,
    approval_key,
    bonus_key,
    retest_key,
)


@dataclass
class PlanReport:
    """What one planning pass changed."""

    created: int = 0
    moved: int = 0
    cancelled: int = 0

    def __str__(self) -> str:
        return f"{self.created} planned, {self.moved} moved to a new due time, {self.cancelled} cancelled"


def plan(session: Session, study_id: int, waves: Mapping[int, WaveTimeline], now: datetime) -> PlanReport:
    """Write, move and cancel rows as described in the module docstring; return what changed."""
    report = PlanReport()
    _plan_retests(session, study_id, waves, now, report)
    _plan_approvals(session, study_id, now, report)
    _plan_bonuses(session, study_id, now, report)
    session.flush()
    return report


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> int:
    """INSERT the rows whose idempotency key is new; returns how many were (counted with RETURNING,
    as PostgreSQL's driver reports no rowcount for INSERT ... ON CONFLICT DO NOTHING)."""
    if not rows:
        return 0
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (module.insert(ScheduledAction).values(rows)
                 .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(ScheduledAction.id))
    return len(session.execute(statement).all())


def _free(now: datetime) -> Any:
    """Rows nobody holds right now."""
    return LEASE.free(now)


def _cancel(session: Session, action_id: int, reason: str, now: datetime) -> int:
    result = session.execute(
        update(ScheduledAction)
        .where(ScheduledAction.id == action_id, ScheduledAction.status == ActionStatus.PENDING, _free(now))
        .values(status=ActionStatus.CANCELLED, last_error=reason, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _plan_retests(session: Session, study_id: int, waves: Mapping[int, WaveTimeline], now: datetime,
                  report: PlanReport) -> None:
    first = session.execute(
        select(Visit.participant_id, Visit.completed_at, Participant.status)
        .join(Participant, Visit.participant_id == Participant.id)
        .where(Participant.study_id == study_id, Visit.wave == 1, Visit.status == VisitStatus.COMPLETED,
               Visit.completed_at.is_not(None))
    ).all()
    if not first:
        return
    ids = [row.participant_id for row in first]
    later_status = {(v.participant_id, v.wave): v.status for v in session.execute(
        select(Visit.participant_id, Visit.wave, Visit.status)
        .where(Visit.participant_id.in_(ids), Visit.wave > 1)
    )}
    existing: dict[int, list[ScheduledAction]] = defaultdict(list)
    for action in session.scalars(
        select(ScheduledAction).where(ScheduledAction.participant_id.in_(ids),
                                      ScheduledAction.kind.in_(RETEST_KINDS))
    ):
        existing[action.participant_id].append(action)
    inserts: list[dict[str, Any]] = []
    for participant_id, completed_at, participant_status in first:
        assert completed_at is not None
        actions = existing.get(participant_id, [])
        if participant_status != ParticipantStatus.ACTIVE:
            _stop(session, actions, participant_status, now, report)
            continue
        by_wave: dict[int, list[ScheduledAction]] = defaultdict(list)
        for action in actions:
            by_wave[int(action.payload.get("wave", 0))].append(action)
        for number in sorted(set(waves) | set(by_wave)):
            rows = by_wave.get(number, [])
            timeline = waves.get(number)
            if timeline is None:
                for action in rows:
                    if action.status == ActionStatus.PENDING:
                        report.cancelled += _cancel(session, action.id, f"study.yaml has no wave {number} now", now)
                continue
            if later_status.get((participant_id, number)) == "completed":
                for action in rows:
                    if action.status == ActionStatus.PENDING:
                        report.cancelled += _cancel(session, action.id, f"wave {number} is completed", now)
                continue
            _reconcile_wave(session, participant_id, timeline, completed_at, rows, now, report, inserts)
    if inserts:
        report.created += _insert_new(session, inserts)


def _stop(session: Session, actions: list[ScheduledAction], participant_status: str, now: datetime,
          report: PlanReport) -> None:
    """A participant no longer active: cancel invitations and reminders; whoever was invited is taken
    off the wave's allowlist now (the window close, brought forward), the others need no close."""
    invited = {int(a.payload.get("wave", 0)) for a in actions if a.kind == INVITATION and a.status == ActionStatus.SENT}
    for action in actions:
        if action.status != ActionStatus.PENDING:
            continue
        if action.kind == WINDOW_CLOSE and int(action.payload.get("wave", 0)) in invited:
            if action.due_at > now:
                moved = session.execute(
                    update(ScheduledAction)
                    .where(ScheduledAction.id == action.id, ScheduledAction.status == ActionStatus.PENDING, _free(now))
                    .values(due_at=now).execution_options(synchronize_session=False)
                )
                report.moved += int(moved.rowcount or 0)  # type: ignore[attr-defined]
            continue
        report.cancelled += _cancel(session, action.id, f"the participant is {participant_status}", now)


def _reconcile_wave(session: Session, participant_id: int, timeline: WaveTimeline, completed_at: datetime,
                    rows: list[ScheduledAction], now: datetime, report: PlanReport,
                    inserts: list[dict[str, Any]]) -> None:
    by_key = {action.idempotency_key: action for action in rows}
    closed = any(a.kind == WINDOW_CLOSE and a.status != ActionStatus.PENDING for a in rows)
    wanted = set()
    for kind, reminder, due in timeline.actions(completed_at):
        key = retest_key(participant_id, timeline.number, kind, reminder)
        wanted.add(key)
        action = by_key.get(key)
        if action is None:
            if not closed:
                payload: dict[str, Any] = {"wave": timeline.number}
                if reminder is not None:
                    payload["reminder"] = reminder
                inserts.append({"participant_id": participant_id, "kind": kind, "due_at": due,
                                "status": ActionStatus.PENDING, "attempts": 0, "idempotency_key": key,
                                "payload": payload, "created_at": now})
        elif action.status == ActionStatus.PENDING and action.due_at != due:
            moved = session.execute(
                update(ScheduledAction)
                .where(ScheduledAction.id == action.id, ScheduledAction.status == ActionStatus.PENDING, _free(now))
                .values(due_at=due).execution_options(synchronize_session=False)
            )
            report.moved += int(moved.rowcount or 0)  # type: ignore[attr-defined]
    for action in rows:
        if action.kind == REMINDER and action.idempotency_key not in wanted and action.status == ActionStatus.PENDING:
            report.cancelled += _cancel(
                session, action.id, f"study.yaml now asks for {timeline.reminder_count} reminder(s)", now)


def _plan_approvals(session: Session, study_id: int, now: datetime, report: PlanReport) -> None:
    visits = session.execute(
        select(Visit.id, Visit.participant_id, Visit.wave, Visit.completed_at)
        .join(Participant, Visit.participant_id == Participant.id)
        .outerjoin(ScheduledAction, and_(ScheduledAction.participant_id == Visit.participant_id,
                                         ScheduledAction.kind == APPROVAL,
                                         ScheduledAction.idempotency_key == _approval_key_sql(Visit.id)))
        .where(Participant.study_id == study_id, Visit.status == VisitStatus.COMPLETED, Visit.completed_at.is_not(None),
               Visit.prolific_session_id.is_not(None), ScheduledAction.id.is_(None))
    ).all()
    rows = [{"participant_id": v.participant_id, "kind": APPROVAL, "due_at": v.completed_at,
             "status": ActionStatus.PENDING,
             "attempts": 0, "idempotency_key": approval_key(v.id), "payload": {"visit_id": v.id, "wave": v.wave},
             "created_at": now} for v in visits]
    report.created += _insert_new(session, rows)


def _approval_key_sql(visit_id: Any) -> Any:
    return literal("approve:v") + cast(visit_id, String)


def _plan_bonuses(session: Session, study_id: int, now: datetime, report: PlanReport) -> None:
    bonuses = session.scalars(
        select(Bonus)
        .join(Participant, Bonus.participant_id == Participant.id)
        .where(Participant.study_id == study_id, Bonus.status.in_((BonusStatus.COMPUTED, BonusStatus.SET_UP)))
    ).all()
    if not bonuses:
        return
    keys = {bonus_key(b.idempotency_key): b for b in bonuses}
    have = set(session.scalars(select(ScheduledAction.idempotency_key)
                               .where(ScheduledAction.idempotency_key.in_(list(keys)))))
    rows = [{"participant_id": b.participant_id, "kind": BONUS, "due_at": b.created_at, "status": ActionStatus.PENDING,
             "attempts": 0, "idempotency_key": key, "payload": {"bonus_id": b.id, "wave": b.wave},
             "created_at": now} for key, b in keys.items() if key not in have]
    report.created += _insert_new(session, rows)
