"""Withdrawal: the participant leaves the study and what they gave is erased.

``withdraw`` marks the participant and their visits withdrawn, marks every signed consent withdrawn
(the signed copy itself is kept, unchanged: it is the record of what was agreed), gives back their
quota place, and runs every eraser in ``ERASERS``. The erasers here delete the recordings' audio
blobs and chunk rows, the transcripts and interview turns, the interview checkpoints (their notes
come from what was said), and the survey answers and game decisions. Other parts of voxbank add
their own eraser to ``ERASERS`` (a function taking the session, the participant and the blob store,
returning counts for the audit log).

A blob is deleted only when no other recording still uses it: the store is content-addressed, so
two identical chunks (silence, say) share one file. New chunks are tagged with their recording
(``interviewer.transcription.audio.chunk_tag``), so two recordings never share one at all.
Calling ``withdraw`` again is harmless.

Withdrawal is final for every writer: before erasing, it marks the interviews ``withdrawn`` and the
recordings ``deleted`` (`_stop_writers`), the rows the conductor's store, the recording store and
the transcription job lock and check before each write. Page submits are refused by the visit's
status. What is kept, and why, is stated in ``deploy/SECURITY.md`` ("What a withdrawal keeps").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.blobs import BlobStore
from storage.models import (
    Consent,
    ExperimentAssignment,
    GameDecision,
    GameOutcome,
    Interview,
    PageView,
    Participant,
    PiiReplacement,
    Recording,
    RecordingChunk,
    Response,
    SafetyEvent,
    Transcript,
    Turn,
    Visit,
    utcnow,
)
from survey import quotas

Eraser = Callable[[Session, Participant, BlobStore], dict[str, int]]
REASON_MAX_CHARS = 2000


@dataclass
class WithdrawalReport:
    """What a withdrawal did: counts by kind of thing erased."""

    participant_id: int
    already_withdrawn: bool = False
    erased: dict[str, int] = field(default_factory=dict)


def _deleted(session: Session, statement: Any) -> int:
    """Run a DELETE and return how many rows it removed."""
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def _visit_ids(session: Session, participant: Participant) -> list[int]:
    return list(session.scalars(select(Visit.id).where(Visit.participant_id == participant.id)))


def _interview_ids(session: Session, participant: Participant) -> list[int]:
    visits = _visit_ids(session, participant)
    return list(session.scalars(select(Interview.id).where(Interview.visit_id.in_(visits)))) if visits else []


def erase_recordings(session: Session, participant: Participant, blobs: BlobStore) -> dict[str, int]:
    """Delete the participant's recording chunks (rows and audio blobs) and mark the recordings deleted."""
    interviews = _interview_ids(session, participant)
    if not interviews:
        return {"recording_chunks": 0, "blobs": 0}
    recordings = list(session.scalars(select(Recording).where(Recording.interview_id.in_(interviews))))
    recording_ids = [r.id for r in recordings]
    hashes = set(session.scalars(
        select(RecordingChunk.blob_sha256).where(RecordingChunk.recording_id.in_(recording_ids))))
    hashes |= {r.sha256 for r in recordings if r.sha256} | {r.archive_sha256 for r in recordings if r.archive_sha256}
    chunks = _deleted(session, delete(RecordingChunk).where(RecordingChunk.recording_id.in_(recording_ids)))
    for recording in recordings:
        recording.status = "deleted"
        recording.sha256 = None
        recording.archive_sha256 = None
    session.flush()
    still_used = set(session.scalars(select(RecordingChunk.blob_sha256).where(RecordingChunk.blob_sha256.in_(hashes))))
    still_used |= set(session.scalars(select(Recording.sha256).where(Recording.sha256.in_(hashes))))
    still_used |= set(session.scalars(select(Recording.archive_sha256).where(Recording.archive_sha256.in_(hashes))))
    deleted = sum(1 for sha in sorted(hashes - still_used) if blobs.delete(sha))
    return {"recording_chunks": chunks, "blobs": deleted}


def erase_transcripts(session: Session, participant: Participant, blobs: BlobStore) -> dict[str, int]:
    """Delete the participant's transcripts and interview turns, and empty the interview checkpoints."""
    interviews = _interview_ids(session, participant)
    if not interviews:
        return {"transcripts": 0, "turns": 0}
    transcripts = _deleted(session, delete(Transcript).where(Transcript.interview_id.in_(interviews)))
    turns = _deleted(session, delete(Turn).where(Turn.interview_id.in_(interviews)))
    for interview in session.scalars(select(Interview).where(Interview.id.in_(interviews))):
        interview.checkpoint = {}
        interview.status = "withdrawn"
    session.flush()
    return {"transcripts": transcripts, "turns": turns}


def erase_answers(session: Session, participant: Participant, blobs: BlobStore) -> dict[str, int]:
    """Delete the participant's survey answers and game decisions (with their computed outcomes)."""
    visits = _visit_ids(session, participant)
    if not visits:
        return {"responses": 0, "game_decisions": 0}
    decisions = select(GameDecision.id).where(GameDecision.visit_id.in_(visits))
    session.execute(delete(GameOutcome).where(GameOutcome.decision_id.in_(decisions)))
    removed = _deleted(session, delete(GameDecision).where(GameDecision.visit_id.in_(visits)))
    responses = _deleted(session, delete(Response).where(Response.visit_id.in_(visits)))
    return {"responses": responses, "game_decisions": removed}


def erase_pii_replacements(session: Session, participant: Participant, blobs: BlobStore) -> dict[str, int]:
    """Delete the names and places scrubbed from the participant's transcript (the originals are personal)."""
    removed = _deleted(session, delete(PiiReplacement).where(PiiReplacement.participant_id == participant.id))
    return {"pii_replacements": removed}


def _stop_writers(session: Session, participant: Participant) -> None:
    """Mark the interviews and recordings withdrawn before anything is erased.

    Every writer (the conductor's store, the recording store, the transcription job) takes the same
    rows' lock and refuses a withdrawn interview or deleted recording. Updating them first means a
    writer that committed before us is erased below, and one that waited for us is refused.
    """
    interviews = _interview_ids(session, participant)
    if not interviews:
        return
    session.execute(update(Interview).where(Interview.id.in_(interviews))
                    .values(status="withdrawn", transcription_status="withdrawn", transcription_claimed_by=None,
                            transcription_claimed_until=None)
                    .execution_options(synchronize_session=False))
    session.execute(update(Recording).where(Recording.interview_id.in_(interviews)).values(status="deleted")
                    .execution_options(synchronize_session=False))
    session.expire_all()


def erase_journey_traces(session: Session, participant: Participant, blobs: BlobStore) -> dict[str, int]:
    """Delete the page views (timings, quality signals), experiment assignments and the interview's QA notes.

    The interview and recording rows stay as empty tombstones (status ``withdrawn``/``deleted``):
    they are what every writer checks, so a late write finds the withdrawal instead of a free slot.
    """
    visits = _visit_ids(session, participant)
    views = _deleted(session, delete(PageView).where(PageView.visit_id.in_(visits))) if visits else 0
    assignments = _deleted(session, delete(ExperimentAssignment)
                           .where(ExperimentAssignment.participant_id == participant.id))
    interviews = _interview_ids(session, participant)
    if interviews:
        session.execute(update(Interview).where(Interview.id.in_(interviews))
                        .values(qa_flags=[], end_reason=None, transcription_error=None)
                        .execution_options(synchronize_session=False))
    return {"page_views": views, "experiment_assignments": assignments}


def erase_safety_review_notes(session: Session, participant: Participant, blobs: BlobStore) -> dict[str, int]:
    """Empty the staff review notes of the participant's safety events (a note may repeat what was said).

    The events themselves stay: that a distress or self-harm signal was heard at which turn and
    question, its score, and who reviewed it when. That record of the duty of care holds no words
    (the turn that raised it is erased with the transcript); see ``deploy/SECURITY.md``.
    """
    interviews = _interview_ids(session, participant)
    if not interviews:
        return {"safety_review_notes": 0}
    emptied = session.execute(update(SafetyEvent)
                              .where(SafetyEvent.interview_id.in_(interviews), SafetyEvent.review_note.is_not(None))
                              .values(review_note=None).execution_options(synchronize_session=False))
    return {"safety_review_notes": int(emptied.rowcount or 0)}  # type: ignore[attr-defined]


ERASERS: list[Eraser] = [erase_recordings, erase_transcripts, erase_answers, erase_pii_replacements,
                         erase_journey_traces, erase_safety_review_notes]


def withdraw(session: Session, participant: Participant, reason: str | None, blob_store: BlobStore, *,
             actor: str | None = None) -> WithdrawalReport:
    """Withdraw a participant (see the module docstring); the caller commits."""
    report = WithdrawalReport(participant.id)
    if participant.status == "withdrawn":
        report.already_withdrawn = True
        return report
    if participant.status == "active" and participant.strata:
        quotas.release(session, participant.study_id, participant.strata)
    now = utcnow()
    participant.status = "withdrawn"
    participant.withdrawn_at = now
    participant.withdrawal_reason = (reason or "").strip()[:REASON_MAX_CHARS] or None
    participant.strata = {}
    for visit in session.scalars(select(Visit).where(Visit.participant_id == participant.id)):
        if visit.status != "completed":
            visit.status = "withdrawn"
    for consent in session.scalars(select(Consent).where(Consent.participant_id == participant.id)):
        if consent.withdrawn_at is None:
            consent.withdrawn_at = now
    session.flush()
    _stop_writers(session, participant)
    for eraser in ERASERS:
        report.erased.update(eraser(session, participant, blob_store))
    audit.record(session, actor or f"participant:{participant.pseudonym_id}", "participant.withdraw",
                 f"participant:{participant.id}",
                 {"erased": report.erased, "gave_reason": bool(participant.withdrawal_reason)})
    return report
