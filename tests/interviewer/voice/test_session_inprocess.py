"""A spoken interview with no server at all: real Silero, Whisper tiny.en and Piper over the in-process
transport, the conductor on a stand-in LLM over HTTP. Time runs in real time (seconds per test)."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription.audio import ChannelSource, ChunkRef, assemble_channel, read_chunk
from interviewer.transcription.merge import word_error_rate
from interviewer.voice.inprocess import InProcessTransport
from interviewer.voice.session import InterviewSession, SessionLog, VoiceRuntime
from storage.models import Interview, Recording, RecordingChunk, Turn
from tests.interviewer.voice.helpers import ANSWER, SECOND_ANSWER

pytestmark = pytest.mark.slow
WAIT_S = 90.0


def asked(question_id: str):  # type: ignore[no-untyped-def]
    return lambda log: any(p.question_id == question_id and p.started_at for p in log.played)


def _turns(factory: sessionmaker[Session], interview_id: int) -> list[Turn]:
    with factory() as session:
        return list(session.scalars(select(Turn).where(Turn.interview_id == interview_id).order_by(Turn.seq)))


def _channel(factory: sessionmaker[Session], runtime: VoiceRuntime, interview_id: int, channel: str
             ) -> tuple[Recording, list[RecordingChunk], np.ndarray]:
    with factory() as session:
        recording = session.scalars(select(Recording).where(Recording.interview_id == interview_id,
                                                            Recording.channel == channel)).one()
        chunks = list(session.scalars(select(RecordingChunk).where(RecordingChunk.recording_id == recording.id)
                                      .order_by(RecordingChunk.index)))
    source = ChannelSource(channel, recording.id, recording.sample_rate,
                           tuple(ChunkRef(c.index, c.start_s, c.blob_sha256) for c in chunks))
    return recording, chunks, assemble_channel(source, runtime.blobs).samples


def _loudest_between(samples: np.ndarray, start_s: float, end_s: float) -> float:
    """Peak of an assembled channel (float, full scale 1.0) between two moments of the timeline."""
    piece = samples[max(0, int(start_s * 16000)):max(0, int(end_s * 16000))]
    return float(np.max(np.abs(piece))) if len(piece) else 0.0


async def _say_answer(transport: InProcessTransport, log: SessionLog, samples: np.ndarray, after: str) -> None:
    await log.wait_for(asked(after), WAIT_S)
    await transport.speak(samples)


def test_a_spoken_answer_is_heard_stored_and_answered_with_the_next_question(
        runtime: VoiceRuntime, session_factory: sessionmaker[Session], speak_text) -> None:  # type: ignore[no-untyped-def]
    answer = speak_text(ANSWER)

    async def interview() -> tuple[InterviewSession, InProcessTransport]:
        transport = InProcessTransport()
        session = InterviewSession(runtime, transport.attach)
        await session.start()
        await _say_answer(transport, session.log, answer, after="grew_up")
        await session.log.wait_for(asked("work"), WAIT_S)
        await transport.close()
        await session.aclose()
        return session, transport

    session, transport = asyncio.run(interview())
    interview_id = session.interview_id

    # What was said, in order, and what the participant heard.
    turns = _turns(session_factory, interview_id)
    assert [(t.seq, t.speaker, t.kind, t.question_id) for t in turns] == [
        (0, "interviewer", "scripted", None),
        (1, "interviewer", "scripted", "grew_up"),
        (2, "participant", "answer", "grew_up"),
        (3, "interviewer", "scripted", "work"),
    ]
    assert turns[1].text == "Where did you grow up?"
    assert turns[3].text == "What do you do for work?"
    assert word_error_rate(ANSWER, turns[2].text) <= 0.25, turns[2].text
    assert transport.heard_seconds() > 3.0
    assert [p.question_id for p in session.log.played] == [None, "grew_up", "work"]

    # Every turn is placed on the recording's timeline, in order, without overlaps.
    for before, after in zip(turns, turns[1:], strict=False):
        assert before.start_s <= before.end_s <= after.start_s + 0.05, (before.seq, after.seq)
    spoken = len(answer) / 16000
    assert abs((turns[2].end_s - turns[2].start_s) - spoken) < 1.0

    # The reply's latency: end of the answer to the first audio of the next question.
    latency = turns[3].response_latency_ms
    assert latency is not None
    assert latency == pytest.approx((turns[3].start_s - turns[2].end_s) * 1000, abs=5)
    assert runtime.options.end_of_turn_s * 1000 <= latency < 10000
    assert turns[0].response_latency_ms is None and turns[1].response_latency_ms is None

    # Both channels are recorded in chunks on the same timeline, registered with duration and sha256.
    participant, p_chunks, p_audio = _channel(session_factory, runtime, interview_id, "participant")
    interviewer, i_chunks, i_audio = _channel(session_factory, runtime, interview_id, "interviewer")
    for recording, chunks in ((participant, p_chunks), (interviewer, i_chunks)):
        assert recording.status == "paused"  # the interview goes on (it was not finished)
        assert recording.sha256 is not None and len(recording.sha256) == 64
        assert recording.duration_s == pytest.approx(max(c.start_s + c.duration_s for c in chunks), abs=1e-3)
        assert [c.index for c in chunks] == list(range(len(chunks)))
        assert all(c.duration_s <= runtime.options.chunk_s + 1e-6 for c in chunks)
    assert participant.sample_rate == 16000 and interviewer.sample_rate == 24000
    answer_turn, question_turn = turns[2], turns[3]
    assert _loudest_between(p_audio, answer_turn.start_s + 0.3, answer_turn.end_s - 0.3) > 0.1
    assert _loudest_between(p_audio, answer_turn.end_s + 0.3, question_turn.start_s) < 0.01
    assert _loudest_between(i_audio, answer_turn.start_s, question_turn.start_s - 0.05) < 0.01
    assert _loudest_between(i_audio, question_turn.start_s, question_turn.end_s) > 0.1
    # sha256 covers the PCM of every chunk in order
    import hashlib

    digest = hashlib.sha256()
    for chunk in p_chunks:
        digest.update(read_chunk(runtime.blobs.get(chunk.blob_sha256), expected_rate=16000, where="test")
                      .astype("<i2").tobytes())
    assert participant.sha256 == digest.hexdigest()


def test_a_dropped_participant_rejoins_the_same_interview_where_it_was(
        runtime: VoiceRuntime, session_factory: sessionmaker[Session], speak_text) -> None:  # type: ignore[no-untyped-def]
    # After the rejoin, an answer with a reflective pause: long enough to close a stretch of speech
    # (transcribed on its own), shorter than the end of a turn, so the answer stays one turn. The end
    # of turn is set with a second to spare: on a loaded CPU the VAD runs late by a fraction of one.
    runtime.options = dataclasses.replace(runtime.options, end_of_turn_s=2.5)
    pause = np.zeros(int(1.0 * 16000), np.int16)
    assert runtime.options.pause_s < 1.0 < runtime.options.end_of_turn_s
    second = np.concatenate([speak_text(SECOND_ANSWER[0]), pause, speak_text(SECOND_ANSWER[1])])
    with session_factory() as db, db.begin():
        db.add(Interview(mode="voice", guide_id="x", protocol_version="0", protocol_hash="0" * 64,
                         status="in_progress"))  # another interview, to show the rejoin finds the right one

    async def two_connections() -> tuple[InterviewSession, InterviewSession]:
        first_transport = InProcessTransport()
        first = InterviewSession(runtime, first_transport.attach, visit_id=None)
        await first.start()
        await first.log.wait_for(asked("grew_up"), WAIT_S)
        await first_transport.close()            # the connection drops before any answer
        await first.aclose("participant_disconnected")

        again = InProcessTransport()
        second_session = InterviewSession(runtime, again.attach, interview_id=first.interview_id)
        await second_session.start()  # the open question was heard to its end: it is not said again
        await again.speak(second)
        await second_session.log.wait_for(asked("work"), WAIT_S)
        await again.close()
        await second_session.aclose()
        return first, second_session

    first, second_session = asyncio.run(two_connections())
    assert second_session.interview_id == first.interview_id
    # The rejoin does not repeat what was heard to its end since the last answer (the intro and the open
    # question); it listens, and goes on.
    assert [(p.seq, p.question_id) for p in second_session.log.played] == [(3, "work")]
    turns = _turns(session_factory, first.interview_id)
    assert [(t.speaker, t.question_id) for t in turns] == [
        ("interviewer", None), ("interviewer", "grew_up"), ("participant", "grew_up"), ("interviewer", "work")
    ], [(t.speaker, t.text, t.start_s, t.end_s) for t in turns]
    assert word_error_rate(" ".join(SECOND_ANSWER), turns[2].text) <= 0.3, turns[2].text
    # One recording per channel; the rejoin's chunks follow the first connection's, after the gap.
    with session_factory() as db:
        recordings = list(db.scalars(select(Recording).where(Recording.interview_id == first.interview_id)))
        assert sorted(r.channel for r in recordings) == ["interviewer", "participant"]
        for recording in recordings:
            chunks = list(db.scalars(select(RecordingChunk).where(RecordingChunk.recording_id == recording.id)
                                     .order_by(RecordingChunk.index)))
            assert [c.index for c in chunks] == list(range(len(chunks)))
            starts = [c.start_s for c in chunks]
            assert starts == sorted(starts)
        participant = next(r for r in recordings if r.channel == "participant")
        p_chunks = list(db.scalars(select(RecordingChunk).where(RecordingChunk.recording_id == participant.id)
                                   .order_by(RecordingChunk.index)))
        assert turns[2].start_s > min(c.start_s for c in p_chunks)


def test_an_interview_spoken_to_its_end_is_handed_on_for_transcription_once_its_recordings_are_stored(
        runtime: VoiceRuntime, session_factory: sessionmaker[Session], speak_text) -> None:  # type: ignore[no-untyped-def]
    handed_on: list[tuple[int, str, list[str]]] = []

    def on_finished(interview_id: int) -> None:
        with session_factory() as db:
            status = db.get(Interview, interview_id).status  # type: ignore[union-attr]
            recordings = [r.status for r in db.scalars(select(Recording).where(Recording.interview_id == interview_id))]
        handed_on.append((interview_id, status, sorted(recordings)))

    runtime.on_finished = on_finished

    async def to_the_end() -> InterviewSession:
        transport = InProcessTransport()
        session = InterviewSession(runtime, transport.attach)
        await session.start()
        await _say_answer(transport, session.log, speak_text(ANSWER), after="grew_up")
        await _say_answer(transport, session.log, speak_text(" ".join(SECOND_ANSWER)), after="work")
        assert await asyncio.wait_for(session.wait(), WAIT_S) == "completed"
        await transport.close()
        return session

    session = asyncio.run(to_the_end())
    # The ~10 s questions are used up by one answer each, so the interview closes after the second.
    assert handed_on == [(session.interview_id, "completed", ["complete", "complete"])]
