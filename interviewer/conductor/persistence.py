"""Writing the interview down as it happens: turns, checkpoint and status, one transaction a step.

The conductor commits twice per participant turn: the participant's turn with a checkpoint that
says a reply is owed, then the interviewer's reply with the checkpoint after it. Whatever the
moment of a crash, the database holds a consistent prefix of the interview, and `load` gives
back exactly what is needed to go on: no turn lost, none said twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.db import transaction
from storage.models import Interview, Participant, SafetyEvent, Turn, Visit, utcnow
from storage.states import InterviewStatus

ACTOR = "system:conductor"


@dataclass(frozen=True)
class TurnRecord:
    """One turn as the conductor writes it."""

    seq: int
    speaker: str
    kind: str
    question_id: str | None
    text: str
    start_s: float
    end_s: float
    llm_latency_ms: float | None = None
    response_latency_ms: float | None = None


@dataclass(frozen=True)
class SafetyFlag:
    """A distress or self-harm signal to put before staff: written with the turn that carried it."""

    turn_seq: int
    question_id: str | None
    signal: str
    score: float | None
    source: str


@dataclass(frozen=True)
class Provenance:
    """What conducts an interview: the LLM (model and kind of endpoint), the prompt version, and the
    safety classifier's version."""

    llm_model: str
    llm_endpoint: str
    prompt_version: str
    safety_classifier_version: str


@dataclass(frozen=True)
class Saved:
    """An interview as stored: its row's fields that the conductor needs, and its turns from a seq on."""

    interview_id: int
    guide_id: str
    protocol_hash: str
    mode: str
    status: str
    checkpoint: dict[str, Any]
    turns: list[TurnRecord]


class ConductorStoreError(RuntimeError):
    """The interview cannot be found or resumed; the message says why."""


class InterviewWithdrawn(ConductorStoreError):
    """The participant has withdrawn: nothing more of this interview may be written."""


WITHDRAWN = InterviewStatus.WITHDRAWN
"""The interview status withdrawal sets (``survey.withdrawal``); every writer here refuses it."""


class Store:
    """The conductor's access to the database."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def create(self, *, guide_id: str, protocol_version: str, protocol_hash: str, mode: str,
               visit_id: int | None, checkpoint: dict[str, Any], provenance: Provenance) -> int:
        """Create the interview row (status ``in_progress``) and audit it; returns its id."""
        with transaction(self.session_factory) as session:
            if visit_id is not None:
                visit = session.get(Visit, visit_id, with_for_update=True)
                participant = session.get(Participant, visit.participant_id) if visit is not None else None
                if participant is None or participant.status == WITHDRAWN:
                    raise InterviewWithdrawn(f"visit {visit_id}: the participant has withdrawn (or does not exist)")
            interview = Interview(visit_id=visit_id, mode=mode, guide_id=guide_id, protocol_version=protocol_version,
                                  protocol_hash=protocol_hash, status=InterviewStatus.IN_PROGRESS,
                                  checkpoint=checkpoint,
                                  started_at=utcnow(), llm_model=provenance.llm_model,
                                  llm_endpoint=provenance.llm_endpoint, prompt_version=provenance.prompt_version,
                                  safety_classifier_version=provenance.safety_classifier_version)
            session.add(interview)
            session.flush()
            audit.record(session, ACTOR, "interview.start", f"interview:{interview.id}",
                         {"mode": mode, "guide_id": guide_id, "protocol_hash": protocol_hash,
                          "llm_model": provenance.llm_model, "llm_endpoint": provenance.llm_endpoint,
                          "prompt_version": provenance.prompt_version,
                          "safety_classifier_version": provenance.safety_classifier_version})
            return interview.id

    def save(self, interview_id: int, *, protocol_hash: str, turns: list[TurnRecord], checkpoint: dict[str, Any],
             status: str | None = None, end_reason: str | None = None,
             flags: list[SafetyFlag] | None = None) -> None:
        """Add ``turns`` and replace the checkpoint in one transaction; with ``status``, end the interview.

        Each of ``flags`` becomes a `SafetyEvent` row awaiting staff review, and an audit event
        ``interview.safety_flag`` (ids, the signal and its score: never the words said).
        """
        with transaction(self.session_factory) as session:
            interview = session.get(Interview, interview_id, with_for_update=True)
            if interview is None:
                raise ConductorStoreError(f"interview {interview_id} does not exist")
            # Withdrawal locks this row before it erases (survey.withdrawal), so whichever comes second sees
            # the other: turns committed first are erased; a save that waited finds the interview withdrawn.
            if interview.status == WITHDRAWN:
                raise InterviewWithdrawn(f"interview {interview_id} was withdrawn; nothing more is written")
            for flag in flags or []:
                event = SafetyEvent(interview_id=interview_id, turn_seq=flag.turn_seq, question_id=flag.question_id,
                                    signal=flag.signal, score=flag.score, source=flag.source)
                session.add(event)
                session.flush()
                audit.record(session, ACTOR, "interview.safety_flag", f"interview:{interview_id}",
                             {"safety_event_id": event.id, "turn_seq": flag.turn_seq, "signal": flag.signal,
                              "score": flag.score, "source": flag.source, "question_id": flag.question_id})
            for turn in turns:
                session.add(Turn(interview_id=interview_id, seq=turn.seq, speaker=turn.speaker, kind=turn.kind,
                                 question_id=turn.question_id, text=turn.text, start_s=turn.start_s, end_s=turn.end_s,
                                 llm_latency_ms=turn.llm_latency_ms, response_latency_ms=turn.response_latency_ms,
                                 protocol_hash=protocol_hash))
            interview.checkpoint = checkpoint
            if status is not None and status != interview.status:
                interview.status = status
                interview.end_reason = end_reason
                interview.ended_at = utcnow()
                audit.record(session, ACTOR, f"interview.{status}", f"interview:{interview_id}",
                             {"turns": checkpoint.get("next_seq", 0), "fallbacks": checkpoint.get("fallbacks", 0)})

    def load(self, interview_id: int, *, from_seq: int | None = 0) -> Saved:
        """The interview and its turns with ``seq >= from_seq`` in order (none for ``from_seq=None``)."""
        with self.session_factory() as session:
            interview = session.get(Interview, interview_id)
            if interview is None:
                raise ConductorStoreError(f"interview {interview_id} does not exist")
            rows: list[Turn] = [] if from_seq is None else list(session.scalars(
                select(Turn).where(Turn.interview_id == interview_id, Turn.seq >= from_seq).order_by(Turn.seq)))
            turns = [TurnRecord(seq=t.seq, speaker=t.speaker, kind=t.kind, question_id=t.question_id, text=t.text,
                                start_s=t.start_s, end_s=t.end_s, llm_latency_ms=t.llm_latency_ms,
                                response_latency_ms=t.response_latency_ms) for t in rows]
            return Saved(interview_id=interview.id, guide_id=interview.guide_id, protocol_hash=interview.protocol_hash,
                         mode=interview.mode, status=interview.status, checkpoint=dict(interview.checkpoint or {}),
                         turns=turns)

    def last_reply(self, interview_id: int) -> list[TurnRecord]:
        """The interviewer turns after the participant's last turn (what the participant last heard)."""
        with self.session_factory() as session:
            last_answer = session.scalar(select(func.max(Turn.seq)).where(Turn.interview_id == interview_id,
                                                                          Turn.speaker == "participant"))
            rows = session.scalars(select(Turn).where(Turn.interview_id == interview_id,
                                                      Turn.seq > (-1 if last_answer is None else last_answer))
                                   .order_by(Turn.seq))
            return [TurnRecord(seq=t.seq, speaker=t.speaker, kind=t.kind, question_id=t.question_id, text=t.text,
                               start_s=t.start_s, end_s=t.end_s, llm_latency_ms=t.llm_latency_ms,
                               response_latency_ms=t.response_latency_ms) for t in rows]
