"""``withdraw``: the participant is marked withdrawn and their recordings, transcripts and answers erased."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from survey_helpers import add_decisions, add_participant

from storage.blobs import BlobStore
from storage.db import transaction
from storage.models import (
    AuditEvent,
    Consent,
    GameDecision,
    GameOutcome,
    Interview,
    Participant,
    PiiReplacement,
    QuotaCell,
    Recording,
    RecordingChunk,
    Response,
    Transcript,
    Turn,
    Visit,
)
from survey import quotas
from survey.journey import Journey
from survey.withdrawal import withdraw

STRATA = {"age_band": "25_34", "gender": "female"}


def _with_everything(session: Session, journey: Journey, blobs: BlobStore, n: int, audio: list[bytes]) -> int:
    participant, visit = add_participant(session, journey, n, strata=STRATA)
    quotas.reserve(session, journey.study_id, STRATA)
    session.add(Consent(participant_id=participant.id, document_version="1", text="I agree.",
                        text_hash=hashlib.sha256(b"I agree.").hexdigest(), scopes=["participate", "audio_recording"]))
    interview = Interview(visit_id=visit.id, guide_id="avp", protocol_version="1", protocol_hash="a" * 64,
                          checkpoint={"notes": {"has_children": "yes"}})
    session.add(interview)
    session.flush()
    recording = Recording(interview_id=interview.id, channel="participant", sample_rate=16000)
    session.add(recording)
    session.add(Turn(interview_id=interview.id, seq=0, speaker="participant", kind="answer", text="My name is Ann.",
                     start_s=0, end_s=2, protocol_hash="a" * 64))
    session.add(Transcript(interview_id=interview.id, source="offline", model="tiny.en", model_version="1",
                           settings_hash="b" * 64, text="My name is Ann."))
    session.flush()
    for index, chunk in enumerate(audio):
        session.add(RecordingChunk(recording_id=recording.id, index=index, start_s=index * 5.0, duration_s=5.0,
                                   blob_sha256=blobs.put(chunk)))
    session.add(Response(visit_id=visit.id, wave=1, instrument="gss_core", item_id="natspac", value_number=1.0,
                         presentation_order=1, protocol_hash="c" * 64))
    add_decisions(session, journey, visit, {"game1_DG": {"amount": 2}})
    decision = session.scalars(select(GameDecision).where(GameDecision.visit_id == visit.id)).one()
    session.add(GameOutcome(decision_id=decision.id, partner_decision_ids=[], payoff_cents=300))
    session.add(PiiReplacement(participant_id=participant.id, entity_type="PERSON", original_key="d" * 64,
                               original="Margaret", replacement="Linda"))
    session.flush()
    return participant.id


def test_withdrawal_erases_what_the_participant_gave(session_factory: sessionmaker[Session], journey: Journey,
                                                     tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    silence = b"\x00" * 64
    with transaction(session_factory) as session:
        leaving = _with_everything(session, journey, blobs, 1, [b"voice of one", silence])
        staying = _with_everything(session, journey, blobs, 2, [b"voice of two", silence])
    with transaction(session_factory) as session:
        report = withdraw(session, session.get(Participant, leaving), "  I changed my mind  ", blobs)
    assert report.erased == {"recording_chunks": 2, "blobs": 1, "transcripts": 1, "turns": 1,
                             "responses": 1, "game_decisions": 1, "pii_replacements": 1, "page_views": 0,
                             "experiment_assignments": 0, "safety_review_notes": 0}
    assert not blobs.exists(hashlib.sha256(b"voice of one").hexdigest())
    assert blobs.exists(hashlib.sha256(silence).hexdigest()), "a blob another recording uses is kept"
    assert blobs.exists(hashlib.sha256(b"voice of two").hexdigest())
    with session_factory() as session:
        participant = session.get(Participant, leaving)
        assert participant is not None
        assert participant.status == "withdrawn"
        assert participant.withdrawal_reason == "I changed my mind"
        assert participant.withdrawn_at is not None
        assert participant.strata == {}
        visit_ids = list(session.scalars(select(Visit.id).where(Visit.participant_id == leaving)))
        assert session.scalars(select(Visit.status).where(Visit.participant_id == leaving)).all() == ["withdrawn"]
        consent = session.scalars(select(Consent).where(Consent.participant_id == leaving)).one()
        assert consent.withdrawn_at == participant.withdrawn_at
        assert consent.text == "I agree."
        interview = session.scalars(select(Interview).where(Interview.visit_id.in_(visit_ids))).one()
        assert (interview.checkpoint, interview.status) == ({}, "withdrawn")
        assert session.scalars(select(Recording.status).where(Recording.interview_id == interview.id)).all() == [
            "deleted"]
        for model, column in ((Response, Response.visit_id), (GameDecision, GameDecision.visit_id)):
            assert session.scalar(select(func.count()).select_from(model).where(column.in_(visit_ids))) == 0
        assert session.scalars(select(PiiReplacement.participant_id)).all() == [staying]
        for model in (Transcript, Turn, RecordingChunk, GameOutcome):
            assert session.scalar(select(func.count()).select_from(model)) == (2 if model is RecordingChunk else 1)
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "participant.withdraw")).one()
        assert event.target == f"participant:{leaving}"
        assert event.details == {"erased": report.erased, "gave_reason": True}
        assert "changed my mind" not in str(event.details)
        female = session.scalars(select(QuotaCell).where(QuotaCell.stratum == "gender",
                                                         QuotaCell.cell == "female")).one()
        assert female.filled == 1, "the place is given back"
        assert session.get(Participant, staying).status == "active"  # type: ignore[union-attr]


def test_withdrawing_twice_changes_nothing_more(session_factory: sessionmaker[Session], journey: Journey,
                                                tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    with transaction(session_factory) as session:
        participant_id = _with_everything(session, journey, blobs, 1, [b"voice"])
    with transaction(session_factory) as session:
        withdraw(session, session.get(Participant, participant_id), None, blobs)
    with transaction(session_factory) as session:
        report = withdraw(session, session.get(Participant, participant_id), "again", blobs)
    assert report.already_withdrawn
    with session_factory() as session:
        assert session.get(Participant, participant_id).withdrawal_reason is None  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "participant.withdraw")) == 1
