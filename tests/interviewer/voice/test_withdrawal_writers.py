"""Withdrawal is final for the interview's writers: the conductor's store and the recording store refuse
a withdrawn participant, and no one else's audio goes with theirs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.conductor.persistence import InterviewWithdrawn, Store
from interviewer.llm.client import LLMClient
from interviewer.voice.conducting import open_conductor
from interviewer.voice.recording import PendingChunk, RecordingStore, RecordingWithdrawn
from protocols import Study
from storage.blobs import BlobStore
from storage.db import transaction
from storage.models import Interview, Participant, RecordingChunk, Turn
from survey.withdrawal import withdraw
from tests.interviewer.voice.helpers import admitted_participant

SILENCE = np.zeros(16000, dtype=np.int16)


def _withdraw(factory: sessionmaker[Session], participant_id: int, blobs: BlobStore) -> None:
    with transaction(factory) as session:
        withdraw(session, session.get(Participant, participant_id), None, blobs)


def _blob_files(blobs: BlobStore) -> list[Path]:
    return sorted(p for p in blobs.root.rglob("*") if p.is_file()) if blobs.root.exists() else []


def test_the_conductor_writes_nothing_after_withdrawal(tiny_study: Study, llm: LLMClient, tmp_path: Path,
                                                       session_factory: sessionmaker[Session]) -> None:
    participant_id, visit_id = admitted_participant(session_factory)
    conductor = open_conductor(session_factory, tiny_study, llm, visit_id=visit_id)
    conductor.open()
    _withdraw(session_factory, participant_id, BlobStore(tmp_path / "blobs"))
    store = Store(session_factory)
    with pytest.raises(InterviewWithdrawn, match=f"interview {conductor.interview_id} was withdrawn"):
        store.save(conductor.interview_id, protocol_hash="0" * 64, turns=[], checkpoint={"phone": "555-0100"},
                   status="completed")
    with session_factory() as session:
        interview = session.get(Interview, conductor.interview_id)
        assert interview is not None
        assert (interview.status, interview.checkpoint) == ("withdrawn", {})
        assert session.scalar(select(func.count()).select_from(Turn)) == 0


def test_the_recording_takes_no_chunk_after_withdrawal_and_finishing_it_does_not_raise(
        tiny_study: Study, llm: LLMClient, tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    participant_id, visit_id = admitted_participant(session_factory)
    conductor = open_conductor(session_factory, tiny_study, llm, visit_id=visit_id)
    blobs = BlobStore(tmp_path / "blobs")
    recordings = RecordingStore(session_factory, blobs, conductor.interview_id)
    recording_id, index, rate = recordings.open_channel("participant", 16000)
    recordings.add_chunk(PendingChunk(recording_id, index, 0.0, SILENCE, rate))
    assert len(_blob_files(blobs)) == 1
    _withdraw(session_factory, participant_id, blobs)
    with pytest.raises(RecordingWithdrawn):
        recordings.add_chunk(PendingChunk(recording_id, index + 1, 1.0, SILENCE + 1, rate))
    assert recordings.finish(recording_id, complete=True) == (0.0, None)
    with pytest.raises(RecordingWithdrawn):
        recordings.open_channel("interviewer", 24000)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(RecordingChunk)) == 0
    assert _blob_files(blobs) == []


def test_withdrawing_one_participant_keeps_anothers_identical_silence(
        tiny_study: Study, llm: LLMClient, tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    stored = {}
    for name in ("leaving", "staying"):
        participant_id, visit_id = admitted_participant(session_factory)
        interview_id = open_conductor(session_factory, tiny_study, llm, visit_id=visit_id).interview_id
        recordings = RecordingStore(session_factory, blobs, interview_id)
        recording_id, index, rate = recordings.open_channel("participant", 16000)
        stored[name] = (participant_id, recordings.add_chunk(PendingChunk(recording_id, index, 0.0, SILENCE, rate)))
    assert stored["leaving"][1] != stored["staying"][1], "the same silence, in two blobs"
    _withdraw(session_factory, stored["leaving"][0], blobs)
    assert not blobs.exists(stored["leaving"][1])
    assert blobs.get(stored["staying"][1])  # still there, and still its own bytes
