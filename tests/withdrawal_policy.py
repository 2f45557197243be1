"""The withdrawal policy as a check, row by row (``deploy/SECURITY.md``, "What a withdrawal keeps").

Kept: the participant row (Prolific id, to honour later requests and never re-invite; status, time,
reason), the signed consent copies (marked withdrawn), the visits (status, Prolific ids for the
submission), bonuses owed or paid, the audit log (ids and counts only), and empty interview and
recording rows as tombstones that every writer checks, and safety events without their review notes.
Everything the participant said, answered or did on a page is gone.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.blobs import BlobStore
from storage.models import (
    Consent,
    ExperimentAssignment,
    GameDecision,
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
)


def assert_withdrawal_kept_only_what_it_may(session: Session, participant_id: int, blobs: BlobStore,
                                            blob_hashes: Iterable[str] = ()) -> None:
    """Fail naming the first table that holds more of the withdrawn participant than the policy keeps."""
    participant = session.get(Participant, participant_id)
    assert participant is not None
    assert (participant.status, participant.strata) == ("withdrawn", {})
    assert participant.withdrawn_at is not None
    consents = session.scalars(select(Consent).where(Consent.participant_id == participant_id)).all()
    assert all(c.withdrawn_at == participant.withdrawn_at for c in consents)
    visits = session.scalars(select(Visit.id).where(Visit.participant_id == participant_id)).all()
    assert set(session.scalars(select(Visit.status).where(Visit.participant_id == participant_id))) <= {
        "withdrawn", "completed"}
    interviews = session.scalars(select(Interview).where(Interview.visit_id.in_(visits))).all()
    for interview in interviews:
        assert (interview.status, interview.checkpoint, interview.qa_flags, interview.transcription_status) == (
            "withdrawn", {}, [], "withdrawn"), f"interview {interview.id}"
    interview_ids = [i.id for i in interviews]
    recordings = session.scalars(select(Recording).where(Recording.interview_id.in_(interview_ids))).all()
    assert all((r.status, r.sha256, r.archive_sha256) == ("deleted", None, None) for r in recordings)

    def count(model: type, *where: object) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    remaining = {
        "responses": count(Response, Response.visit_id.in_(visits)),
        "game_decisions": count(GameDecision, GameDecision.visit_id.in_(visits)),
        "page_views": count(PageView, PageView.visit_id.in_(visits)),
        "experiment_assignments": count(ExperimentAssignment, ExperimentAssignment.participant_id == participant_id),
        "pii_replacements": count(PiiReplacement, PiiReplacement.participant_id == participant_id),
        "turns": count(Turn, Turn.interview_id.in_(interview_ids)),
        "transcripts": count(Transcript, Transcript.interview_id.in_(interview_ids)),
        "recording_chunks": count(RecordingChunk, RecordingChunk.recording_id.in_([r.id for r in recordings])),
        "safety_review_notes": count(SafetyEvent, SafetyEvent.interview_id.in_(interview_ids),
                                     SafetyEvent.review_note.is_not(None)),
    }
    assert remaining == dict.fromkeys(remaining, 0)
    assert [sha for sha in blob_hashes if blobs.exists(sha)] == []
