"""What voxbank holds about one participant, for their own data page, and the download of it.

``holdings`` counts what is kept, by kind, in words a participant can read: no database ids, no
Prolific id (the page says it is kept, not what it is: the page is reached from a browser cookie,
and a shared computer should not show the id to the next person). ``download`` is the participant's
own copy: their answers, with the wording of each question, and their interview turns, labelled
"Interviewer" and "You".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    Bonus,
    ExperimentAssignment,
    GameDecision,
    Interview,
    PageView,
    Participant,
    Recording,
    Response,
    ScheduledAction,
    Transcript,
    Turn,
    Visit,
)
from storage.states import RecordingStatus
from survey.sharing import governing_consent, shares

SPEAKERS = {"interviewer": "Interviewer", "participant": "You"}


class ItemWording(Protocol):
    """Looks up an item's wording and option labels (``agentbank.catalogue.Catalogue`` is one)."""

    def get(self, instrument: str, item_id: str) -> Any: ...


@dataclass
class InterviewHeld:
    """One interview, as the participant is told of it."""

    wave: int
    status: str
    minutes: float | None
    turns: int
    recordings: int
    recorded_minutes: float
    transcripts: int


@dataclass
class Holdings:
    """Counts of what is kept about one participant, by kind."""

    visits: list[tuple[int, str, datetime]] = field(default_factory=list)
    consent_version: str | None = None
    consent_signed_at: datetime | None = None
    consent_scopes: list[str] = field(default_factory=list)
    consent_withdrawn: bool = False
    sharing: list[str] = field(default_factory=list)
    sharing_stopped_at: datetime | None = None
    interviews: list[InterviewHeld] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    game_decisions: int = 0
    scenarios: int = 0
    page_timings: int = 0
    bonuses: int = 0
    scheduled: list[tuple[str, datetime, str]] = field(default_factory=list)


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60, 1)


def _count(session: Session, column: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count(column)).where(*where)) or 0)


def holdings(session: Session, participant: Participant) -> Holdings:
    """What voxbank holds about ``participant`` now (after a withdrawal: what the withdrawal kept)."""
    visits = list(session.scalars(select(Visit).where(Visit.participant_id == participant.id).order_by(Visit.wave)))
    visit_ids = [visit.id for visit in visits]
    wave_of = {visit.id: visit.wave for visit in visits}
    held = Holdings(visits=[(visit.wave, visit.status, visit.started_at) for visit in visits])
    consent = governing_consent(participant)
    if consent is not None:
        first = min(participant.consents, key=lambda c: (c.signed_at, c.id))
        held.consent_version, held.consent_signed_at = consent.document_version, first.signed_at
        held.consent_scopes = list(consent.scopes or [])
        held.consent_withdrawn = consent.withdrawn_at is not None
        held.sharing = shares(participant)
        if consent is not first and not held.sharing:
            held.sharing_stopped_at = consent.signed_at
    interviews = list(session.scalars(select(Interview).where(Interview.visit_id.in_(visit_ids))
                                      .order_by(Interview.id))) if visit_ids else []
    for interview in interviews:
        recordings = list(session.scalars(select(Recording).where(Recording.interview_id == interview.id,
                                                                  Recording.status != RecordingStatus.DELETED)))
        held.interviews.append(InterviewHeld(
            wave=wave_of.get(interview.visit_id or 0, 1), status=interview.status,
            minutes=_minutes(interview.started_at, interview.ended_at),
            turns=_count(session, Turn.id, Turn.interview_id == interview.id),
            recordings=len(recordings), recorded_minutes=round(sum(r.duration_s for r in recordings) / 60, 1),
            transcripts=_count(session, Transcript.id, Transcript.interview_id == interview.id),
        ))
    if visit_ids:
        held.answers = dict(sorted(Counter(session.scalars(
            select(Response.instrument).where(Response.visit_id.in_(visit_ids)))).items()))
        held.game_decisions = _count(session, GameDecision.id, GameDecision.visit_id.in_(visit_ids))
        held.page_timings = _count(session, PageView.id, PageView.visit_id.in_(visit_ids))
    held.scenarios = _count(session, ExperimentAssignment.id, ExperimentAssignment.participant_id == participant.id)
    held.bonuses = _count(session, Bonus.id, Bonus.participant_id == participant.id)
    actions = session.scalars(select(ScheduledAction).where(ScheduledAction.participant_id == participant.id)
                              .order_by(ScheduledAction.due_at))
    held.scheduled = [(action.kind, action.due_at, action.status) for action in actions]
    return held


def _answer(row: Response, wording: ItemWording) -> dict[str, Any]:
    item = wording.get(row.instrument, row.item_id)
    value: Any = row.value_text if row.value_text is not None else row.value_number
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    label = item.label(row.value_number) if item is not None and row.value_number is not None else None
    return {"wave": row.wave, "instrument": row.instrument, "item": row.item_id,
            "question": item.text if item is not None else None, "answer": value, "answer_label": label,
            "missing": row.missing, "answered_at": row.answered_at.isoformat()}


def download(session: Session, participant: Participant, study_title: str, wording: ItemWording) -> dict[str, Any]:
    """The participant's own copy: their answers (with each question's wording), game decisions and
    interview turns ("Interviewer" / "You"), oldest first."""
    visits = list(session.scalars(select(Visit).where(Visit.participant_id == participant.id).order_by(Visit.wave)))
    visit_ids = [visit.id for visit in visits]
    wave_of = {visit.id: visit.wave for visit in visits}
    responses = list(session.scalars(select(Response).where(Response.visit_id.in_(visit_ids))
                                     .order_by(Response.wave, Response.instrument, Response.presentation_order,
                                               Response.id))) if visit_ids else []
    decisions = list(session.scalars(select(GameDecision).where(GameDecision.visit_id.in_(visit_ids))
                                     .order_by(GameDecision.presentation_order, GameDecision.id))) if visit_ids else []
    interviews = list(session.scalars(select(Interview).where(Interview.visit_id.in_(visit_ids))
                                      .order_by(Interview.id))) if visit_ids else []
    transcript: list[dict[str, Any]] = []
    for interview in interviews:
        turns = session.scalars(select(Turn).where(Turn.interview_id == interview.id).order_by(Turn.seq)).all()
        transcript.append({
            "wave": wave_of.get(interview.visit_id or 0, 1), "status": interview.status,
            "turns": [{"speaker": SPEAKERS.get(turn.speaker, turn.speaker), "text": turn.text} for turn in turns],
        })
    text = "\n\n".join(f"{turn['speaker']}: {turn['text']}" for part in transcript for turn in part["turns"])
    return {
        "study": study_title,
        "about": "Your own copy of what you gave this study: your answers and your interview, as we hold them now.",
        "answers": [_answer(row, wording) for row in responses],
        "game_decisions": [{"wave": wave_of.get(d.visit_id, 1), "game": d.game_id, "role": d.role,
                            "decision": d.decision, "decided_at": d.decided_at.isoformat()} for d in decisions],
        "interviews": transcript,
        "transcript_text": text,
    }
