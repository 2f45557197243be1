"""The distress and self-harm signals the interviewer flagged (``safety_events``, written by the
conductor), listed for staff review, and marking one reviewed.

A review is given once: it records who, when and a note, and writes the audit event
``safety_event.reviewed`` (the note's length, never its words). A second review of the same event
is refused, so the first reviewer's note is never overwritten; a later remark belongs in a new
place, not over the record of who looked first.

Withdrawal keeps the events (the signal, turn, question, score, and who reviewed when) and empties
their notes (``survey.withdrawal.erase_safety_review_notes``). An event of a withdrawn participant
can still be reviewed, since the duty of care outlives the data, but its note is not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.models import Interview, Participant, SafetyEvent, Turn, Visit, utcnow

NOTE_MAX_CHARS = 2000
LIST_LIMIT = 200


class ReviewRefused(ValueError):
    """The review cannot be recorded; the message says why and that nothing was changed."""


@dataclass(frozen=True)
class EventRow:
    """One safety event as the quality page shows it (``turn_text`` only when asked for)."""

    event: SafetyEvent
    pseudonym: str
    turn_text: str | None
    withdrawn: bool = False
    """The participant has withdrawn: the words are erased and a review's note is not kept."""

    @property
    def reviewed(self) -> bool:
        """Whether staff have reviewed the event."""
        return self.event.reviewed_at is not None


def _in_study(study_id: int):  # type: ignore[no-untyped-def]
    return (select(SafetyEvent, Participant.pseudonym_id, Participant.status)
            .join(Interview, SafetyEvent.interview_id == Interview.id)
            .join(Visit, Interview.visit_id == Visit.id)
            .join(Participant, Visit.participant_id == Participant.id)
            .where(Participant.study_id == study_id))


def listed(session: Session, study_id: int, *, with_turns: bool, unreviewed_only: bool = False,
           limit: int = LIST_LIMIT) -> list[EventRow]:
    """The study's safety events, unreviewed first and newest first within each, at most ``limit``.

    With ``with_turns``, each row carries the text of the participant's turn that raised it (None
    where that turn is gone, e.g. erased at withdrawal); the caller audits that read.
    """
    query = _in_study(study_id)
    if unreviewed_only:
        query = query.where(SafetyEvent.reviewed_at.is_(None))
    query = query.order_by(SafetyEvent.reviewed_at.is_not(None), SafetyEvent.created_at.desc(),
                           SafetyEvent.id.desc()).limit(limit)
    found = [(event, pseudonym, status == "withdrawn") for event, pseudonym, status in session.execute(query)]
    texts: dict[tuple[int, int], str] = {}
    if with_turns and found:
        wanted = {(event.interview_id, event.turn_seq) for event, _, _ in found}
        for interview_id, seq, text in session.execute(
                select(Turn.interview_id, Turn.seq, Turn.text)
                .where(Turn.interview_id.in_({i for i, _ in wanted}), Turn.seq.in_({s for _, s in wanted}))):
            if (interview_id, seq) in wanted:
                texts[(interview_id, seq)] = text
    return [EventRow(event, pseudonym, texts.get((event.interview_id, event.turn_seq)) if with_turns else None,
                     withdrawn) for event, pseudonym, withdrawn in found]


def find(session: Session, study_id: int, event_id: int) -> SafetyEvent | None:
    """The safety event ``event_id`` if it belongs to an interview of this study."""
    row = session.execute(_in_study(study_id).where(SafetyEvent.id == event_id)).first()
    return row[0] if row else None


def mark_reviewed(session: Session, event: SafetyEvent, note: str, actor: str,
                  now: datetime | None = None) -> bool:
    """Record ``actor``'s review of ``event`` with ``note`` and audit it; ReviewRefused if the note is
    empty or too long, or the event was already reviewed. The note is not stored when the participant
    has withdrawn (returns False then, True when it was stored). The caller commits."""
    note = note.strip()
    if not note:
        raise ReviewRefused("The review note is empty: write what was done or decided about this event. "
                            "Nothing was changed.")
    if len(note) > NOTE_MAX_CHARS:
        raise ReviewRefused(f"The review note is longer than {NOTE_MAX_CHARS} characters ({len(note)}). "
                            "Nothing was changed.")
    reviewed_at = now or utcnow()
    keep_note = session.scalar(select(Interview.status).where(Interview.id == event.interview_id)) != "withdrawn"
    # One conditional UPDATE, so that two reviewers submitting at once cannot both succeed.
    result = session.execute(
        update(SafetyEvent).where(and_(SafetyEvent.id == event.id, SafetyEvent.reviewed_at.is_(None)))
        .values(reviewed_at=reviewed_at, reviewed_by=actor, review_note=note if keep_note else None)
        .execution_options(synchronize_session=False))
    if cast(CursorResult[Any], result).rowcount != 1:
        session.refresh(event)
        raise ReviewRefused(f"Safety event {event.id} was already reviewed by {event.reviewed_by} at "
                            f"{event.reviewed_at:%Y-%m-%d %H:%M} UTC; a review is given once. Nothing was changed.")
    audit.record(session, actor, "safety_event.reviewed", f"interview:{event.interview_id}",
                 {"safety_event_id": event.id, "signal": event.signal, "turn_seq": event.turn_seq,
                  "note_chars": len(note), "note_kept": keep_note})
    session.refresh(event)
    return keep_note
