"""Study data for the staff tests, made through the real journey (bots) plus a stored interview with audio.

The interview is what a finished voice interview leaves behind (tested in tests/interviewer/voice):
turns on the interview's timeline and both channels recorded as WAV chunks in the blob store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient
from journey_bots import Bot, pid
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription.audio import split_into_chunks
from storage.blobs import BlobStore
from storage.models import Interview, Participant, Recording, RecordingChunk, Turn, Visit, utcnow

RATE = 16000
TURNS = [  # speaker, start_s, end_s, text
    ("interviewer", 0.0, 3.0, "To start, tell me the story of your life."),
    ("participant", 3.5, 9.0, "I grew up near the coast with my two brothers."),
    ("interviewer", 9.5, 11.0, "What was that like?"),
    ("participant", 11.5, 16.0, "Loud, and mostly happy."),
]


@dataclass
class Person:
    """A participant made for a test, and the browser holding their capability cookie."""

    pseudonym: str
    participant_id: int
    client: TestClient
    interview_id: int
    recording_ids: dict[str, int]


def tone(seconds: float, frequency: float) -> np.ndarray:
    """A quiet sine tone as int16 samples."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (3000 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def store_interview(factory: sessionmaker[Session], blobs: BlobStore, visit_id: int) -> tuple[int, dict[str, int]]:
    """Store a completed 16-second interview with turns and both channels (1 s chunks, a gap in one)."""
    with factory() as session, session.begin():
        started = utcnow() - timedelta(minutes=5)
        interview = Interview(visit_id=visit_id, mode="voice", guide_id="short", protocol_version="test",
                              protocol_hash="0" * 64, status="completed", started_at=started,
                              ended_at=started + timedelta(seconds=16))
        session.add(interview)
        session.flush()
        for seq, (speaker, start, end, text) in enumerate(TURNS):
            session.add(Turn(interview_id=interview.id, seq=seq, speaker=speaker, kind="answer", text=text,
                             start_s=start, end_s=end, protocol_hash="0" * 64))
        recordings = {}
        for channel, frequency in (("participant", 220.0), ("interviewer", 440.0)):
            recording = Recording(interview_id=interview.id, channel=channel, sample_rate=RATE, status="complete",
                                  duration_s=16.0)
            session.add(recording)
            session.flush()
            index = 0
            for start, data in split_into_chunks(tone(16.0, frequency), RATE, 1.0):
                if channel == "participant" and 5.0 <= start < 7.0:
                    continue  # a gap: two seconds the microphone dropped, served as silence
                session.add(RecordingChunk(recording_id=recording.id, index=index, start_s=start, duration_s=1.0,
                                           blob_sha256=blobs.put(data)))
                index += 1
            recordings[channel] = recording.id
        return interview.id, recordings


def make_person(client: TestClient, factory: sessionmaker[Session], blobs: BlobStore, n: int = 1) -> Person:
    """A participant who entered from Prolific and consented (cookie in ``client``), with a stored interview."""
    bot = Bot(client, pid(n))
    response = bot.enter()
    bot.step(response)  # consent
    with factory() as session:
        participant = session.scalars(select(Participant).where(Participant.prolific_pid == pid(n))).one()
        visit = session.scalars(select(Visit).where(Visit.participant_id == participant.id)).one()
    interview_id, recordings = store_interview(factory, blobs, visit.id)
    return Person(participant.pseudonym_id, participant.id, client, interview_id, recordings)
