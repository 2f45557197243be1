"""What the quality page shows: per interview, the transcript QA flags and follow-up measures; per visit,
speeding and straight-lining from the page signals. The safety events to review are in
``web.staff.safety_events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Interview, PageView, Participant, Visit


@dataclass(frozen=True)
class InterviewQuality:
    """One interview's quality measures."""

    interview_id: int
    pseudonym: str
    status: str
    qa_flags: list[dict[str, Any]]
    questions_asked: int
    follow_ups: int
    fallbacks: int
    skipped: int

    @property
    def follow_ups_per_question(self) -> float | None:
        """Follow-ups per scripted question asked (Park et al. report about 0.75)."""
        return self.follow_ups / self.questions_asked if self.questions_asked else None


@dataclass(frozen=True)
class VisitSignals:
    """Pages of one visit flagged for speeding or straight-lining."""

    pseudonym: str
    wave: int
    pages: int
    speeding: int
    straightlining: int


def interviews(session: Session, study_id: int) -> list[InterviewQuality]:
    """Every interview of the study with its measures, newest first."""
    out = []
    for interview, pseudonym in session.execute(
            select(Interview, Participant.pseudonym_id).join(Visit, Interview.visit_id == Visit.id)
            .join(Participant, Visit.participant_id == Participant.id).where(Participant.study_id == study_id)
            .order_by(Interview.id.desc())):
        checkpoint = interview.checkpoint or {}
        out.append(InterviewQuality(
            interview_id=interview.id, pseudonym=pseudonym, status=interview.status,
            qa_flags=list(interview.qa_flags or []), questions_asked=len(checkpoint.get("asked", [])),
            follow_ups=sum(int(n) for n in checkpoint.get("followups", {}).values()),
            fallbacks=int(checkpoint.get("fallbacks", 0)), skipped=len(checkpoint.get("skipped", []))))
    return out


def visit_signals(session: Session, study_id: int) -> list[VisitSignals]:
    """Visits with at least one page flagged for speeding or straight-lining."""
    counts: dict[tuple[str, int], list[int]] = {}
    for pseudonym, wave, signals in session.execute(
            select(Participant.pseudonym_id, Visit.wave, PageView.signals).join(Visit, PageView.visit_id == Visit.id)
            .join(Participant, Visit.participant_id == Participant.id)
            .where(Participant.study_id == study_id, PageView.submitted_at.is_not(None))):
        row = counts.setdefault((pseudonym, wave), [0, 0, 0])
        row[0] += 1
        row[1] += bool((signals or {}).get("speeding"))
        row[2] += bool((signals or {}).get("straightlining"))
    return [VisitSignals(p, w, *row) for (p, w), row in sorted(counts.items()) if row[1] or row[2]]
