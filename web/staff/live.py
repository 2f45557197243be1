"""Interviews in progress, and abandoned ones, as the live page shows them.

An interview is in progress while its status is ``in_progress``; it counts as abandoned when
nothing has been said for ``ABANDONED_AFTER`` (the participant closed the tab, the connection
dropped and never came back), or when it ended ``lost``/``failed``. The connection state is what
the database can tell: when the last turn was stored. The safety flags are the interview's
``safety_events`` rows (what staff review on the quality page), counted per signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from protocols import Study
from storage.models import Interview, Participant, SafetyEvent, Turn, Visit, utcnow

ABANDONED_AFTER = timedelta(minutes=15)
ENDED_BADLY = ("lost", "failed", "abandoned")


def clock(seconds: float) -> str:
    """``seconds`` as h:mm:ss (a budget of a few seconds and one of two hours read alike)."""
    whole = max(int(seconds), 0)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True)
class LiveInterview:
    """One interview's row on the live page."""

    interview_id: int
    pseudonym: str | None
    status: str
    elapsed_s: float
    budget_s: int
    module: str | None
    question: str | None
    last_latency_ms: float | None
    quiet_s: float
    safety: dict[str, int]
    """Safety events per signal (``severe``, ``distress``)."""
    unreviewed: int
    """How many of those staff have not reviewed yet."""
    abandoned: bool
    paused: bool = False
    """Paused by the participant's button or because nobody is connected (``interviews.paused_at``)."""

    @property
    def elapsed(self) -> str:
        """The time since the interview started, pauses left out, as h:mm:ss."""
        return clock(self.elapsed_s)

    @property
    def budget(self) -> str:
        """The guide's time budget, as h:mm:ss."""
        return clock(self.budget_s)

    @property
    def over_budget(self) -> bool:
        """Whether the interview has run longer than its guide's budget."""
        return self.elapsed_s > self.budget_s > 0

    @property
    def connection(self) -> str:
        """What the last stored turn says about the connection."""
        if self.abandoned:
            return "gone"
        if self.paused:
            return "paused"
        return "speaking" if self.quiet_s < 60 else "quiet"


def _where(protocol: Study, guide_id: str, position: int) -> tuple[str | None, str | None, int]:
    guide = protocol.interview_guides.get(guide_id)
    if guide is None:
        return None, None, 0
    data = guide.data
    questions = [(module.title, question.id) for module in data.modules for question in module.questions]
    if position >= len(questions):
        return "closing", None, data.total_seconds
    module, question = questions[position]
    return module, question, data.total_seconds


def interviews(session: Session, protocol: Study, study_id: int, now: datetime | None = None) -> list[LiveInterview]:
    """Interviews in progress, and those abandoned in the last day, newest first."""
    now = now or utcnow()
    rows = list(session.execute(
        select(Interview, Participant.pseudonym_id).join(Visit, Interview.visit_id == Visit.id)
        .join(Participant, Visit.participant_id == Participant.id)
        .where(Participant.study_id == study_id,
               (Interview.status == "in_progress")
               | (Interview.status.in_(ENDED_BADLY) & (Interview.created_at > now - timedelta(days=1))))
        .order_by(Interview.id.desc())))
    ids = [interview.id for interview, _ in rows]
    last_turn = {i: at for i, at in session.execute(
        select(Turn.interview_id, func.max(Turn.created_at)).where(Turn.interview_id.in_(ids))
        .group_by(Turn.interview_id))} if ids else {}
    latency = {}
    for interview_id, value in session.execute(
            select(Turn.interview_id, Turn.response_latency_ms).where(Turn.interview_id.in_(ids),
                                                                      Turn.response_latency_ms.is_not(None))
            .order_by(Turn.seq)) if ids else []:
        latency[interview_id] = value  # ordered by seq: the last one wins
    safety: dict[int, dict[str, int]] = {}
    unreviewed: dict[int, int] = {}
    for interview_id, signal, reviewed_at in session.execute(
            select(SafetyEvent.interview_id, SafetyEvent.signal, SafetyEvent.reviewed_at)
            .where(SafetyEvent.interview_id.in_(ids)).order_by(SafetyEvent.id)) if ids else []:
        counts = safety.setdefault(interview_id, {})
        counts[signal] = counts.get(signal, 0) + 1
        unreviewed[interview_id] = unreviewed.get(interview_id, 0) + (reviewed_at is None)
    out = []
    for interview, pseudonym in rows:
        started = interview.started_at or interview.created_at
        last = last_turn.get(interview.id) or started
        checkpoint = interview.checkpoint or {}
        module, question, budget = _where(protocol, interview.guide_id, int(checkpoint.get("position", 0)))
        quiet = (now - last).total_seconds()
        until = interview.ended_at or now
        paused_s = (interview.paused_s or 0.0) + (
            (until - interview.paused_at).total_seconds() if interview.paused_at is not None else 0.0)
        out.append(LiveInterview(
            interview_id=interview.id, pseudonym=pseudonym, status=interview.status,
            elapsed_s=max(0.0, (until - started).total_seconds() - paused_s), budget_s=budget, module=module,
            question=question, last_latency_ms=latency.get(interview.id), quiet_s=quiet,
            safety=safety.get(interview.id, {}), unreviewed=unreviewed.get(interview.id, 0),
            abandoned=interview.status != "in_progress" or quiet > ABANDONED_AFTER.total_seconds(),
            paused=interview.paused_at is not None))
    return out
