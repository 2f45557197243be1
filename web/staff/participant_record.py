"""Everything the participant detail page shows about one participant, read in one place.

The timeline is the audit log's events about the participant, their visits and interviews, and the
events they did themselves (``participant:<pseudonym>``), oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.models import (
    AuditEvent,
    Bonus,
    Consent,
    GameDecision,
    GameOutcome,
    Interview,
    Participant,
    Recording,
    Response,
    ScheduledAction,
    Turn,
    Visit,
)


@dataclass
class InterviewRecord:
    """One interview with its turns and its recordings by channel."""

    interview: Interview
    turns: list[Turn]
    recordings: dict[str, Recording]


@dataclass
class ParticipantRecord:
    """One participant's data as staff see it."""

    participant: Participant
    visits: list[Visit]
    consents: list[Consent]
    interviews: list[InterviewRecord]
    responses: list[Response]
    decisions: list[tuple[GameDecision, GameOutcome | None]]
    bonuses: list[Bonus]
    actions: list[ScheduledAction]
    timeline: list[AuditEvent]


def find_participant(session: Session, study_id: int, pseudonym: str) -> Participant | None:
    """The participant of this study with this pseudonym, or None."""
    return session.scalars(select(Participant).where(Participant.study_id == study_id,
                                                     Participant.pseudonym_id == pseudonym)).first()


def load(session: Session, participant: Participant) -> ParticipantRecord:
    """Read everything about ``participant`` (nothing is written)."""
    visits = list(session.scalars(select(Visit).where(Visit.participant_id == participant.id).order_by(Visit.wave)))
    visit_ids = [v.id for v in visits]
    interviews = list(session.scalars(select(Interview).where(Interview.visit_id.in_(visit_ids))
                                      .order_by(Interview.id))) if visit_ids else []
    records = []
    for interview in interviews:
        turns = list(session.scalars(select(Turn).where(Turn.interview_id == interview.id).order_by(Turn.seq)))
        recordings = {r.channel: r for r in session.scalars(select(Recording).where(
            Recording.interview_id == interview.id))}
        records.append(InterviewRecord(interview, turns, recordings))
    responses = list(session.scalars(select(Response).where(Response.visit_id.in_(visit_ids)).order_by(
        Response.wave, Response.instrument, Response.presentation_order))) if visit_ids else []
    decisions = list(session.execute(
        select(GameDecision, GameOutcome).outerjoin(GameOutcome, GameOutcome.decision_id == GameDecision.id)
        .where(GameDecision.visit_id.in_(visit_ids)).order_by(GameDecision.presentation_order))) if visit_ids else []
    targets = [f"participant:{participant.id}", *(f"visit:{v}" for v in visit_ids),
               *(f"interview:{i.id}" for i in interviews)]
    timeline = list(session.scalars(select(AuditEvent).where(or_(
        AuditEvent.target.in_(targets), AuditEvent.actor == f"participant:{participant.pseudonym_id}"))
        .order_by(AuditEvent.at, AuditEvent.id)))
    return ParticipantRecord(
        participant=participant, visits=visits,
        consents=list(session.scalars(select(Consent).where(Consent.participant_id == participant.id)
                                      .order_by(Consent.signed_at))),
        interviews=records, responses=responses, decisions=[(d, o) for d, o in decisions],
        bonuses=list(session.scalars(select(Bonus).where(Bonus.participant_id == participant.id).order_by(Bonus.wave))),
        actions=list(session.scalars(select(ScheduledAction).where(ScheduledAction.participant_id == participant.id)
                                     .order_by(ScheduledAction.due_at))),
        timeline=timeline,
    )
