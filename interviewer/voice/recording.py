"""Recording both channels durably while the interview runs.

The chunk convention is the transcription module's (``interviewer/transcription/audio.py``): one
``Recording`` row per channel (``participant``, ``interviewer``) with its ``sample_rate``; one
``RecordingChunk`` per few seconds, a complete 16-bit PCM mono WAV blob in
``BlobStore(settings.resolved_data_dir / "blobs")``, committed as soon as it is stored;
``start_s`` on the interview's timeline; a gap between chunks is silence.

The timeline (`Timeline`) is wall-clock seconds since ``Interview.started_at``. Both channels,
every turn's ``start_s``/``end_s`` and the latencies are placed on it, so they line up with each
other and across reconnections and resumed jobs (a resumed session appends chunks to the same
recordings, after a gap).

* The participant's channel is recorded from the session's audio input (`RecordedAudioInput`):
  every frame the session hears, placed where it arrived.
* The interviewer's channel is recorded from the session's audio output (`RecordedAudioOutput`):
  what was *played*, not what was synthesised. A segment's frames are placed from the moment the
  sink reports playback started, released as playback time passes, and cut where the sink says
  playback stopped (an interruption), so audio that was never heard is never recorded.

`ChannelRecorder` assembles each channel's chunks (contiguous audio is chained; a jump of more
than `GAP_TOLERANCE_S` starts a new chunk at the new place); `ChunkWriter` stores them in order
off the event loop; `RecordingStore.finish` registers each recording's duration and sha256 when
the session ends. ``Recording.sha256`` is the digest of the channel's PCM samples in chunk order
(the WAV payloads concatenated, headers excluded): re-reading the chunks reproduces it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from livekit import rtc
from livekit.agents.voice import io
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.conductor.persistence import WITHDRAWN
from interviewer.transcription.audio import chunk_tag, read_chunk, wav_bytes
from interviewer.transcription.errors import AudioInputError
from interviewer.voice.resample import resample
from storage.blobs import BlobError, BlobStore
from storage.db import transaction
from storage.models import Interview, Recording, RecordingChunk
from storage.states import RecordingStatus

log = logging.getLogger(__name__)

PARTICIPANT = "participant"
INTERVIEWER = "interviewer"
GAP_TOLERANCE_S = 0.5
"""Audio arriving more than this far from where the last chunk ended starts a new chunk there."""
IDLE_COMMIT_S = 1.0
"""A chunk that has not grown for this long is committed (the end of an utterance, a dropped mic)."""
RELEASE_LAG_S = 0.25
DELETED = RecordingStatus.DELETED
"""The recording status withdrawal sets (``survey.withdrawal``)."""
"""Interviewer audio is recorded this long after it is due to play, so an interruption can still cut it."""


@dataclass(frozen=True)
class Timeline:
    """The interview's clock: seconds since it started (``Interview.started_at``)."""

    origin: float
    """Unix time of the interview's 0 s."""

    @classmethod
    def since(cls, started_at: datetime) -> Timeline:
        """The timeline of an interview that started at ``started_at`` (timezone-aware)."""
        return cls(origin=started_at.timestamp())

    def at(self, unix_time: float) -> float:
        """Where a moment (``time.time()``) lies on the timeline."""
        return round(unix_time - self.origin, 4)

    def now(self) -> float:
        """The timeline's present."""
        return self.at(time.time())


@dataclass(frozen=True)
class PendingChunk:
    """A finished chunk waiting to be stored."""

    recording_id: int
    index: int
    start_s: float
    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


class RecordingWithdrawn(RuntimeError):
    """The participant has withdrawn: the recording takes no more audio."""


class RecordingStore:
    """The recordings of one interview in the database and the blob store (blocking; call off the loop)."""

    def __init__(self, session_factory: sessionmaker[Session], blobs: BlobStore, interview_id: int) -> None:
        self.session_factory = session_factory
        self.blobs = blobs
        self.interview_id = interview_id

    def open_channel(self, channel: str, sample_rate: int) -> tuple[int, int, int]:
        """Get or create the channel's recording: ``(recording_id, next chunk index, sample rate)``.

        A recording that already exists (a rejoin, a resumed job) keeps its sample rate; audio at
        another rate is resampled to it.
        """
        with transaction(self.session_factory) as session:
            self._refuse_if_withdrawn(session)
            recording = session.scalars(select(Recording).where(Recording.interview_id == self.interview_id,
                                                                Recording.channel == channel)).first()
            if recording is None:
                recording = Recording(interview_id=self.interview_id, channel=channel, sample_rate=sample_rate,
                                      status=RecordingStatus.RECORDING)
                session.add(recording)
                session.flush()
                return recording.id, 0, sample_rate
            recording.status = RecordingStatus.RECORDING
            last = session.scalar(select(func.max(RecordingChunk.index))
                                  .where(RecordingChunk.recording_id == recording.id))
            return recording.id, (-1 if last is None else last) + 1, recording.sample_rate

    def add_chunk(self, chunk: PendingChunk) -> str:
        """Store the chunk's WAV blob (fsynced), then commit its row; returns the blob's sha256.

        The blob is tagged with its recording (`chunk_tag`), so no two recordings share one: withdrawing
        a participant deletes their blobs without touching anyone else's audio (silence included).
        Raises `RecordingWithdrawn`, keeping nothing, once the participant has withdrawn.
        """
        sha256 = self.blobs.put(wav_bytes(chunk.samples, chunk.sample_rate, tag=chunk_tag(chunk.recording_id)))
        try:
            with transaction(self.session_factory) as session:
                # Withdrawal locks the recording row first (survey.withdrawal): wait for it, then look.
                recording = session.get(Recording, chunk.recording_id, with_for_update=True)
                if recording is None or recording.status == DELETED:
                    raise RecordingWithdrawn(f"recording {chunk.recording_id} was erased; chunk {chunk.index} "
                                             "is not kept")
                self._refuse_if_withdrawn(session)
                session.add(RecordingChunk(recording_id=chunk.recording_id, index=chunk.index,
                                           start_s=round(chunk.start_s, 4), duration_s=round(chunk.duration_s, 4),
                                           blob_sha256=sha256))
        except RecordingWithdrawn:
            self.blobs.delete(sha256)  # this recording's own blob: nobody else points at it
            raise
        return sha256

    def _refuse_if_withdrawn(self, session: Session) -> None:
        status = session.scalar(select(Interview.status).where(Interview.id == self.interview_id))
        if status is None or status == WITHDRAWN:
            raise RecordingWithdrawn(f"interview {self.interview_id} was withdrawn (or does not exist); "
                                     "nothing more is recorded")

    def finish(self, recording_id: int, *, complete: bool) -> tuple[float, str | None]:
        """Register the recording's duration and sha256 (see the module docstring); returns both."""
        with self.session_factory() as session:
            recording = session.get(Recording, recording_id)
            if recording is None:
                raise LookupError(f"recording {recording_id} does not exist")
            if recording.status == DELETED:
                return 0.0, None  # withdrawn: there is nothing to register
            chunks = session.scalars(select(RecordingChunk).where(RecordingChunk.recording_id == recording_id)
                                     .order_by(RecordingChunk.index)).all()
            rate = recording.sample_rate
            refs = [(c.index, c.blob_sha256, c.start_s + c.duration_s) for c in chunks]
        digest = hashlib.sha256()
        for index, blob, _end in refs:
            where = f"chunk {index} of recording {recording_id}"
            try:
                samples = read_chunk(self.blobs.get(blob), expected_rate=rate, where=where)
            except (AudioInputError, BlobError) as error:
                # One damaged chunk must not lose the recording: it is left out of the digest, and the
                # transcription job skips it with a QA flag naming its time range.
                log.error("a recording chunk is unreadable; left out of the recording's digest",
                          extra={"recording_id": recording_id, "index": index, "error": str(error)})
                continue
            digest.update(samples.astype("<i2").tobytes())
        duration = round(max((end for *_rest, end in refs), default=0.0), 4)
        sha256 = digest.hexdigest() if refs else None
        with transaction(self.session_factory) as session:
            recording = session.get(Recording, recording_id, with_for_update=True)
            assert recording is not None
            if recording.status != DELETED:
                recording.duration_s = duration
                recording.sha256 = sha256
                recording.status = RecordingStatus.COMPLETE if complete else RecordingStatus.PAUSED
        return duration, sha256


class ChunkWriter:
    """Stores finished chunks one at a time, in order, in a worker thread."""

    def __init__(self, store: RecordingStore) -> None:
        self.store = store
        self._queue: asyncio.Queue[PendingChunk | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.stored = 0
        self.failed = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="voxbank.recording.writer")

    def put(self, chunk: PendingChunk) -> None:
        self._queue.put_nowait(chunk)

    async def _run(self) -> None:
        while (chunk := await self._queue.get()) is not None:
            try:
                await asyncio.to_thread(self.store.add_chunk, chunk)
                self.stored += 1
            except Exception:
                self.failed += 1
                log.exception("a recording chunk could not be stored",
                              extra={"interview_id": self.store.interview_id, "recording_id": chunk.recording_id,
                                     "index": chunk.index})

    async def drain(self) -> None:
        """Store everything queued, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        await self._task
        self._task = None


class ChannelRecorder:
    """Cuts one channel's audio into chunks on the timeline and hands them to a `ChunkWriter`."""

    def __init__(self, *, channel: str, recording_id: int, next_index: int, sample_rate: int, chunk_s: float,
                 writer: ChunkWriter) -> None:
        self.channel = channel
        self.recording_id = recording_id
        self.sample_rate = sample_rate
        self.chunk_samples = max(1, round(chunk_s * sample_rate))
        self.writer = writer
        self._index = next_index
        self._pieces: list[np.ndarray] = []
        self._count = 0
        self._start_s: float | None = None
        self._end_s: float | None = None  # where the last chunk (or the open one) ends on the timeline
        self._last_write = 0.0

    def write(self, samples: np.ndarray, sample_rate: int, at_s: float) -> None:
        """Add int16 mono audio that begins at ``at_s`` on the timeline."""
        if sample_rate != self.sample_rate:
            samples = resample(samples, sample_rate, self.sample_rate)
        if not len(samples):
            return
        self._last_write = time.monotonic()
        position = self._end_s
        if position is None or abs(at_s - position) > GAP_TOLERANCE_S:
            self.commit()  # a jump: what follows is placed where it really is
            position = at_s
        offset = 0
        while offset < len(samples):
            if self._start_s is None:
                self._start_s = position
            piece = samples[offset:offset + self.chunk_samples - self._count]
            self._pieces.append(piece)
            self._count += len(piece)
            offset += len(piece)
            position += len(piece) / self.sample_rate
            if self._count >= self.chunk_samples:
                self.commit()
        self._end_s = position

    def commit(self) -> None:
        """Hand the open chunk (if any) to the writer."""
        if self._count and self._start_s is not None:
            samples = np.concatenate(self._pieces).astype(np.int16, copy=False)
            self.writer.put(PendingChunk(self.recording_id, self._index, self._start_s, samples, self.sample_rate))
            self._index += 1
        self._pieces, self._count, self._start_s = [], 0, None

    def commit_if_idle(self) -> None:
        """Commit the open chunk when nothing was written to it for `IDLE_COMMIT_S`."""
        if self._count and time.monotonic() - self._last_write >= IDLE_COMMIT_S:
            self.commit()


class RecordedAudioInput(io.AudioInput):
    """The session's audio input, recorded on the way in (the participant's channel)."""

    def __init__(self, source: io.AudioInput, recorder: ChannelRecorder, timeline: Timeline) -> None:
        super().__init__(label="voxbank.recorder", source=source)
        self._recorder = recorder
        self._timeline = timeline

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await super().__anext__()
        arrived = time.time()
        samples = _mono_int16(frame)
        self._recorder.write(samples, frame.sample_rate, self._timeline.at(arrived - frame.duration))
        return frame


class RecordedAudioOutput(io.AudioOutput):
    """The session's audio output, recording what the sink below it actually plays (the interviewer's channel)."""

    def __init__(self, sink: io.AudioOutput, recorder: ChannelRecorder, timeline: Timeline) -> None:
        super().__init__(label="voxbank.recorder", next_in_chain=sink, sample_rate=sink.sample_rate,
                         capabilities=io.AudioOutputCapabilities(pause=True))
        self._recorder = recorder
        self._timeline = timeline
        self._frames: deque[tuple[float, np.ndarray, int]] = deque()  # (offset in segment, samples, rate)
        self._captured_s = 0.0
        self._started_at: float | None = None
        self._paused_at: float | None = None
        self.first_audio_at: list[float] = []
        """Unix time each played segment began (for tests and latency checks)."""

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self._frames.append((self._captured_s, _mono_int16(frame), frame.sample_rate))
        self._captured_s += frame.duration
        assert self.next_in_chain is not None
        await self.next_in_chain.capture_frame(frame)

    def flush(self) -> None:
        super().flush()
        assert self.next_in_chain is not None
        self.next_in_chain.flush()

    def clear_buffer(self) -> None:
        assert self.next_in_chain is not None
        self.next_in_chain.clear_buffer()

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.time()
        super().pause()

    def resume(self) -> None:
        if self._paused_at is not None and self._started_at is not None:
            self._started_at += time.time() - self._paused_at
        self._paused_at = None
        super().resume()

    def on_playback_started(self, *, created_at: float) -> None:
        self._started_at = created_at
        self.first_audio_at.append(created_at)
        super().on_playback_started(created_at=created_at)

    def on_playback_finished(self, *, playback_position: float, interrupted: bool,
                             synchronized_transcript: str | None = None) -> None:
        self._release(playback_position)
        self._frames.clear()
        self._captured_s = 0.0
        self._started_at = self._paused_at = None
        super().on_playback_finished(playback_position=playback_position, interrupted=interrupted,
                                     synchronized_transcript=synchronized_transcript)

    def tick(self) -> None:
        """Record the audio whose playback time has passed (called a few times a second)."""
        if self._started_at is not None and self._paused_at is None:
            self._release(time.time() - self._started_at - RELEASE_LAG_S)

    def _release(self, played_s: float) -> None:
        if self._started_at is None:
            return
        while self._frames:
            offset, samples, rate = self._frames[0]
            if offset >= played_s - 1e-6:
                break
            keep = min(len(samples), max(0, round((played_s - offset) * rate)))
            self._recorder.write(samples[:keep], rate, self._timeline.at(self._started_at + offset))
            if keep < len(samples):  # the rest plays later (or never, if this is where it stopped)
                self._frames[0] = (offset + keep / rate, samples[keep:], rate)
                break
            self._frames.popleft()


def _mono_int16(frame: rtc.AudioFrame) -> np.ndarray:
    samples = np.frombuffer(bytes(frame.data), dtype=np.int16)
    if frame.num_channels > 1:
        samples = samples.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    return samples


