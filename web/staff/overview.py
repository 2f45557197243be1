"""The numbers on the overview page, read straight from the database for one study.

Funnel (wave 1): entered (a wave-1 visit), consented (a signed consent), interview ended (completed
or stopped, as the journey requires), batteries done (every battery page of the visit's plan
submitted), completed (the visit reached the completion page). Wave 2: invited (the invitation was
sent), entered, completed. Every number is a count of participants.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Consent, Interview, PageView, Participant, QuotaCell, ScheduledAction, Visit
from survey.journey import INTERVIEW_ENDED
from survey.plan import SIMPLE_STEPS
from survey.runtime import StudyRuntime
from survey.scheduling.timeline import INVITATION
from survey.study_rows import TOTAL

NOT_BATTERY = (*SIMPLE_STEPS, "complete")


@dataclass(frozen=True)
class Stage:
    """One bar of the funnel."""

    wave: int
    label: str
    count: int


@dataclass(frozen=True)
class QuotaFill:
    """One quota cell: how many it holds against its target."""

    stratum: str
    stratum_question: str
    cell: str
    label: str
    filled: int
    target: int


@dataclass
class Overview:
    """Everything the overview page shows."""

    funnel: list[Stage]
    at_step: dict[int, Counter[str]]
    entries_per_day: list[tuple[date, int]]
    median_seconds_per_step: dict[str, float]
    quota: list[QuotaFill]
    total_target: int | None
    total_filled: int | None
    withdrawn: int
    screened_out: int
    steps: list[str] = field(default_factory=list)

    def count(self, wave: int, label: str) -> int:
        """The funnel count of one stage."""
        return next(stage.count for stage in self.funnel if stage.wave == wave and stage.label == label)

    @property
    def completion_rate(self) -> float | None:
        """Completed wave 1 over entered wave 1."""
        entered = self.count(1, "entered")
        return self.count(1, "completed") / entered if entered else None


def _battery_pages(plan: dict[str, Any]) -> int:
    pages: list[Any] = plan.get("pages") or []
    return sum(1 for page in pages if isinstance(page, dict) and page.get("step") not in NOT_BATTERY)


def build(session: Session, runtime: StudyRuntime, study_id: int) -> Overview:
    """Read the overview of one study."""
    visits = list(session.execute(
        select(Visit.id, Visit.wave, Visit.status, Visit.current_step, Visit.plan, Visit.started_at,
               Visit.participant_id)
        .join(Participant, Visit.participant_id == Participant.id).where(Participant.study_id == study_id)))
    wave1 = [v for v in visits if v.wave == 1]
    wave2 = [v for v in visits if v.wave == 2]
    wave1_participants = {v.participant_id for v in wave1}
    consented = set(session.scalars(select(Consent.participant_id).join(
        Participant, Consent.participant_id == Participant.id).where(Participant.study_id == study_id)))
    ended_visits = set(session.scalars(select(Interview.visit_id).where(
        Interview.status.in_(INTERVIEW_ENDED), Interview.visit_id.is_not(None))))
    submitted = {visit_id: count for visit_id, count in session.execute(
        select(PageView.visit_id, func.count()).where(PageView.submitted_at.is_not(None),
                                                      PageView.page_key.not_in(NOT_BATTERY))
        .group_by(PageView.visit_id))}
    batteries_done = sum(1 for v in wave1 if (need := _battery_pages(v.plan)) and submitted.get(v.id, 0) >= need)
    invited = set(session.scalars(select(ScheduledAction.participant_id).join(
        Participant, ScheduledAction.participant_id == Participant.id).where(
        Participant.study_id == study_id, ScheduledAction.kind == INVITATION, ScheduledAction.status == "sent")))
    funnel = [
        Stage(1, "entered", len(wave1)),
        Stage(1, "consented", len(consented & wave1_participants)),
        Stage(1, "interview ended", sum(1 for v in wave1 if v.id in ended_visits)),
        Stage(1, "batteries done", batteries_done),
        Stage(1, "completed", sum(1 for v in wave1 if v.status == "completed")),
        Stage(2, "invited", len(invited)),
        Stage(2, "entered", len(wave2)),
        Stage(2, "completed", sum(1 for v in wave2 if v.status == "completed")),
    ]
    at_step: dict[int, Counter[str]] = defaultdict(Counter)
    for v in visits:
        if v.status == "started":
            at_step[v.wave][v.current_step or "not started"] += 1
    per_day = Counter(v.started_at.date() for v in wave1)
    statuses = Counter(session.scalars(select(Participant.status).where(Participant.study_id == study_id)))
    quota, total_target, total_filled = _quota(session, runtime, study_id)
    steps = []
    for wave in runtime.protocol.spec.waves:
        steps += [step for step in wave.steps if step not in steps]
    return Overview(
        funnel=funnel, at_step=dict(at_step), entries_per_day=sorted(per_day.items()),
        median_seconds_per_step=_median_seconds(session, study_id), quota=quota, total_target=total_target,
        total_filled=total_filled, withdrawn=statuses.get("withdrawn", 0),
        screened_out=statuses.get("screened_out", 0), steps=steps,
    )


def _median_seconds(session: Session, study_id: int) -> dict[str, float]:
    """The median over participants of the time they spent on each step (its pages added up), in seconds."""
    per_visit_step: dict[tuple[int, str], int] = defaultdict(int)
    for visit_id, key, duration in session.execute(
            select(PageView.visit_id, PageView.page_key, PageView.duration_ms)
            .join(Visit, PageView.visit_id == Visit.id).join(Participant, Visit.participant_id == Participant.id)
            .where(Participant.study_id == study_id, PageView.duration_ms.is_not(None))):
        step = key.split(":", 1)[0]
        if step != "interview":  # the interview page's time is the interview's, measured below
            per_visit_step[(visit_id, step)] += int(duration or 0)
    by_step: dict[str, list[float]] = defaultdict(list)
    for (_visit, step), ms in per_visit_step.items():
        by_step[step].append(ms / 1000)
    for started, ended in session.execute(
            select(Interview.started_at, Interview.ended_at).join(Visit, Interview.visit_id == Visit.id)
            .join(Participant, Visit.participant_id == Participant.id)
            .where(Participant.study_id == study_id, Interview.status.in_(INTERVIEW_ENDED))):
        if started is not None and ended is not None:
            by_step["interview"].append((ended - started).total_seconds())
    return {step: statistics.median(values) for step, values in by_step.items() if values}


def _quota(session: Session, runtime: StudyRuntime,
           study_id: int) -> tuple[list[QuotaFill], int | None, int | None]:
    rows = {(r.stratum, r.cell): r for r in session.scalars(select(QuotaCell).where(QuotaCell.study_id == study_id))}
    quotas = runtime.protocol.spec.quotas
    if quotas is None:
        return [], None, None
    out = []
    for stratum in quotas.strata:
        for cell in stratum.cells:
            row = rows.get((stratum.id, cell.id))
            out.append(QuotaFill(stratum.id, stratum.question, cell.id, cell.label,
                                 row.filled if row else 0, row.capacity if row else 0))
    total = rows.get((TOTAL, TOTAL))
    return out, (total.capacity if total else quotas.total), (total.filled if total else 0)
