"""`voxbank backup` then `voxbank restore` into an empty instance brings a participant back whole:
the answers row for row, the audio byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.blobs import BlobStore
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Interview, Participant, Recording, RecordingChunk, Response, Study, Visit


def seed_participant(factory: sessionmaker[Session], blobs: BlobStore) -> list[bytes]:
    """A participant with two answers and a two-chunk recording; returns the audio chunks' bytes."""
    tone = (np.sin(np.linspace(0, 440 * 2 * np.pi, 16000)) * 12000).astype("<i2")
    chunks = [tone.tobytes(), (tone // 2).tobytes()]
    with transaction(factory) as session:
        study = Study(slug="park2024", title="Park", protocol_version="1", protocol_hash="a" * 64)
        session.add(study)
        session.flush()
        participant = Participant(study_id=study.id, prolific_pid="5f3c2b1a9d8e7f6a5b4c3d2e", pseudonym_id="p-1")
        session.add(participant)
        session.flush()
        visit = Visit(participant_id=participant.id, wave=1, status="completed", current_step="done")
        session.add(visit)
        session.flush()
        session.add_all([
            Response(visit_id=visit.id, wave=1, instrument="bfi44", item_id="bfi_1", value_number=4,
                     presentation_order=0, protocol_hash="a" * 64),
            Response(visit_id=visit.id, wave=1, instrument="self_description", item_id="text",
                     value_text="I grew up by the sea.", presentation_order=1, protocol_hash="a" * 64),
        ])
        interview = Interview(visit_id=visit.id, mode="voice", guide_id="avp", protocol_version="1",
                              protocol_hash="a" * 64, status="completed")
        session.add(interview)
        session.flush()
        recording = Recording(interview_id=interview.id, channel="participant", sample_rate=16000,
                              status="complete", duration_s=2.0)
        session.add(recording)
        session.flush()
        for index, data in enumerate(chunks):
            session.add(RecordingChunk(recording_id=recording.id, index=index, start_s=float(index),
                                       duration_s=1.0, blob_sha256=blobs.put(data)))
    return chunks


def answers(factory: sessionmaker[Session]) -> list[tuple[object, ...]]:
    with factory() as session:
        rows = session.execute(select(Participant.prolific_pid, Response.instrument, Response.item_id,
                                      Response.value_number, Response.value_text)
                               .join(Visit, Visit.participant_id == Participant.id)
                               .join(Response, Response.visit_id == Visit.id).order_by(Response.id)).all()
    return [tuple(row) for row in rows]


def audio(factory: sessionmaker[Session], blobs: BlobStore) -> list[bytes]:
    with factory() as session:
        hashes = session.scalars(select(RecordingChunk.blob_sha256).order_by(RecordingChunk.index)).all()
    return [blobs.get(sha256) for sha256 in hashes]


@pytest.fixture
def backed_up(run_voxbank, settings, session_factory, tmp_path: Path):
    chunks = seed_participant(session_factory, BlobStore(settings.resolved_data_dir / "blobs"))
    done = run_voxbank("backup", str(tmp_path / "backup"), data_dir=str(settings.resolved_data_dir),
                       database_url=settings.resolved_database_url)
    assert done.returncode == 0, done.stderr
    return tmp_path / "backup", chunks, answers(session_factory)


def test_a_restore_into_an_empty_instance_brings_back_answers_and_audio_byte_for_byte(
        backed_up, run_voxbank, empty_database_url: str, tmp_path: Path) -> None:
    folder, chunks, original_answers = backed_up
    data_dir = tmp_path / "restored"
    done = run_voxbank("restore", str(folder), data_dir=str(data_dir), database_url=empty_database_url)
    assert done.returncode == 0, done.stderr
    assert "and 2 blobs" in done.stdout
    engine = make_engine(empty_database_url)
    try:
        factory = make_session_factory(engine)
        assert answers(factory) == original_answers
        assert answers(factory)[1][-1] == "I grew up by the sea."
        assert audio(factory, BlobStore(data_dir / "blobs")) == chunks
    finally:
        engine.dispose()


def test_the_manifest_counts_what_was_saved(backed_up) -> None:
    folder, chunks, _ = backed_up
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["blobs"], manifest["blob_bytes"]) == (2, sum(len(chunk) for chunk in chunks))
    assert manifest["schema_revision"] is not None


def test_a_restore_refuses_a_database_that_is_not_empty(backed_up, run_voxbank, settings, tmp_path: Path) -> None:
    folder, _, _ = backed_up
    done = run_voxbank("restore", str(folder), data_dir=str(tmp_path / "other"),
                       database_url=settings.resolved_database_url)
    assert done.returncode == 1
    assert "is not empty" in done.stderr and "restore only into an empty database" in done.stderr


def test_a_damaged_blob_stops_the_restore(backed_up, run_voxbank, empty_database_url: str, tmp_path: Path) -> None:
    folder, _, _ = backed_up
    damaged = next((folder / "blobs").glob("??/*"))
    data = damaged.read_bytes()
    damaged.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    done = run_voxbank("restore", str(folder), data_dir=str(tmp_path / "restored"), database_url=empty_database_url)
    assert done.returncode == 1
    assert f"{damaged} does not match its name" in done.stderr
