"""Recording: chunks committed as they are written, on the interview's timeline, in the transcription
module's chunk convention; registered with duration and sha256; continued after a rejoin."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription.audio import ChannelSource, ChunkRef, assemble_channel, read_chunk
from interviewer.voice.audio_io import PacedAudioOutput, pcm_frame
from interviewer.voice.recording import (
    ChannelRecorder,
    ChunkWriter,
    RecordedAudioOutput,
    RecordingStore,
    Timeline,
)
from storage.blobs import BlobStore
from storage.models import Interview, Recording, RecordingChunk


@pytest.fixture
def interview_id(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session, session.begin():
        interview = Interview(mode="voice", guide_id="tiny", protocol_version="1", protocol_hash="0" * 64,
                              status="in_progress", started_at=datetime.now(UTC))
        session.add(interview)
        session.flush()
        return interview.id


@pytest.fixture
def store(session_factory: sessionmaker[Session], tmp_path, interview_id: int) -> RecordingStore:  # type: ignore[no-untyped-def]
    return RecordingStore(session_factory, BlobStore(tmp_path / "blobs"), interview_id)


def chunks_of(factory: sessionmaker[Session], recording_id: int) -> list[tuple[int, float, float]]:
    with factory() as session:
        rows = session.scalars(select(RecordingChunk).where(RecordingChunk.recording_id == recording_id)
                               .order_by(RecordingChunk.index))
        return [(c.index, c.start_s, c.duration_s) for c in rows]


def record(store: RecordingStore, channel: str, rate: int, writes: list[tuple[np.ndarray, float]],
           chunk_s: float = 5.0) -> int:
    async def run() -> int:
        recording_id, index, stored_rate = await asyncio.to_thread(store.open_channel, channel, rate)
        writer = ChunkWriter(store)
        writer.start()
        recorder = ChannelRecorder(channel=channel, recording_id=recording_id, next_index=index,
                                   sample_rate=stored_rate, chunk_s=chunk_s, writer=writer)
        for samples, at in writes:
            recorder.write(samples, rate, at)
        recorder.commit()
        await writer.drain()
        assert writer.failed == 0
        return recording_id

    return asyncio.run(run())


def frames(seconds: float, rate: int, start: float, value: int = 100) -> list[tuple[np.ndarray, float]]:
    """20 ms frames of a ramp, placed contiguously from ``start``."""
    step = rate // 50
    total = round(seconds * rate)
    ramp = (np.arange(total) % 2000 + value).astype(np.int16)
    return [(ramp[i:i + step], start + i / rate) for i in range(0, total, step)]


def test_continuous_audio_is_cut_into_contiguous_chunks_and_a_jump_starts_a_new_one(
        store: RecordingStore, session_factory: sessionmaker[Session]) -> None:
    writes = frames(12.0, 16000, 1.0) + frames(2.0, 16000, 16.0)  # 3 s of nothing (a dropped connection)
    recording_id = record(store, "participant", 16000, writes)
    assert chunks_of(session_factory, recording_id) == [(0, 1.0, 5.0), (1, 6.0, 5.0), (2, 11.0, 2.0),
                                                       (3, 16.0, 2.0)]
    # Each chunk is a 16-bit mono WAV at the recording's rate; assembled, the audio lies where it was said.
    with session_factory() as session:
        refs = [ChunkRef(c.index, c.start_s, c.blob_sha256) for c in session.scalars(
            select(RecordingChunk).where(RecordingChunk.recording_id == recording_id).order_by(RecordingChunk.index))]
    audio = assemble_channel(ChannelSource("participant", recording_id, 16000, tuple(refs)), store.blobs).samples
    assert len(audio) == 18 * 16000
    assert np.all(audio[:16000] == 0) and np.all(audio[13 * 16000:16 * 16000] == 0)
    assert np.all(audio[16000:13 * 16000] != 0) and np.all(audio[16 * 16000:] != 0)


def test_a_finished_recording_has_its_duration_and_the_sha256_of_its_samples(
        store: RecordingStore, session_factory: sessionmaker[Session]) -> None:
    writes = frames(7.0, 24000, 0.5)
    recording_id = record(store, "interviewer", 24000, writes)
    duration, sha256 = store.finish(recording_id, complete=True)
    expected = hashlib.sha256(np.concatenate([samples for samples, _ in writes]).astype("<i2").tobytes())
    assert (duration, sha256) == (7.5, expected.hexdigest())
    with session_factory() as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None
        assert (recording.status, recording.duration_s, recording.sha256, recording.sample_rate) == (
            "complete", 7.5, expected.hexdigest(), 24000)


def test_a_rejoin_appends_to_the_same_recording_at_its_own_rate(
        store: RecordingStore, session_factory: sessionmaker[Session]) -> None:
    first = record(store, "participant", 16000, frames(3.0, 16000, 0.0))
    store.finish(first, complete=False)
    again = record(store, "participant", 48000, frames(1.0, 48000, 20.0))  # another transport, another rate
    assert again == first
    assert chunks_of(session_factory, first) == [(0, 0.0, 3.0), (1, 20.0, 1.0)]
    with session_factory() as session:
        recording = session.get(Recording, first)
        assert recording is not None and recording.sample_rate == 16000
        last = session.scalars(select(RecordingChunk).where(RecordingChunk.recording_id == first,
                                                            RecordingChunk.index == 1)).one()
        samples = read_chunk(store.blobs.get(last.blob_sha256), expected_rate=16000, where="chunk 1")
    assert len(samples) == 16000


def test_only_what_the_participant_heard_of_the_interviewer_is_recorded(
        store: RecordingStore, session_factory: sessionmaker[Session]) -> None:
    """Audio captured ahead of playback but cut by an interruption never reaches the recording."""
    async def run() -> tuple[int, float, float]:
        recording_id, index, rate = await asyncio.to_thread(store.open_channel, "interviewer", 24000)
        writer = ChunkWriter(store)
        writer.start()
        recorder = ChannelRecorder(channel="interviewer", recording_id=recording_id, next_index=index,
                                   sample_rate=rate, chunk_s=5.0, writer=writer)
        timeline = Timeline(origin=time.time() - 100.0)
        sink = PacedAudioOutput(label="device", sample_rate=24000)
        output = RecordedAudioOutput(sink, recorder, timeline)
        for _ in range(50):  # one second synthesised, faster than real time
            await output.capture_frame(pcm_frame(np.full(480, 500, np.int16).tobytes(), 24000))
        output.flush()
        started = time.time()
        for _ in range(15):  # the device plays 0.3 s ...
            sink.pull(480)
        output.clear_buffer()  # ... and the participant barges in
        recorder.commit()
        await writer.drain()
        return recording_id, timeline.at(started), output.first_audio_at[0]

    recording_id, started_s, _first = asyncio.run(run())
    ((index, start_s, duration_s),) = chunks_of(session_factory, recording_id)
    assert index == 0
    assert start_s == pytest.approx(started_s, abs=0.05)
    assert duration_s == pytest.approx(0.3, abs=1e-6)


def test_finishing_a_recording_with_a_damaged_chunk_registers_it_without_raising(
        store: RecordingStore, session_factory: sessionmaker[Session]) -> None:
    from interviewer.voice.recording import PendingChunk

    recording_id, index, rate = store.open_channel("participant", 16000)
    tone = (8000 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 440)).astype(np.int16)
    for n in range(3):
        store.add_chunk(PendingChunk(recording_id, index + n, float(n), tone, rate))
    with session_factory() as session:
        damaged = session.scalars(select(RecordingChunk.blob_sha256).where(RecordingChunk.index == 1)).one()
    store.blobs.path_for(damaged).write_bytes(b"bit rot")
    duration, sha256 = store.finish(recording_id, complete=True)
    assert duration == 3.0 and sha256 is not None
    with session_factory() as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None and (recording.status, recording.duration_s) == ("complete", 3.0)
