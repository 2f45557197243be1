"""Assembling a recorded channel from its chunks into one 16 kHz waveform for Whisper.

The chunk convention (the voice agent writes chunks this way; this module reads them back):

* One ``Recording`` row per channel of an interview (``channel`` is ``"interviewer"`` or
  ``"participant"``), with the ``sample_rate`` its chunks were recorded at.
* One ``RecordingChunk`` row per few seconds of that channel, committed as soon as its blob is
  stored. ``index`` counts 0, 1, 2, ... in recording order. ``start_s`` is where the chunk's first
  sample lies on the interview's own timeline (seconds since the interview started: the same clock
  as ``Turn.start_s``), so both channels line up; ``duration_s`` is its length.
* ``blob_sha256`` names a blob in ``storage.blobs.BlobStore(settings.resolved_data_dir / "blobs")``.
  The blob is a complete WAV file (RIFF/WAVE): 16-bit signed PCM, one channel, at the recording's
  ``sample_rate``. Anything else is refused with a message naming the chunk.
* A gap between chunks is silence. Where chunks overlap, the earlier chunk wins and the overlapping
  head of the later one is dropped.
* A chunk that cannot be read (missing, corrupted, not the chunk format) is skipped and reported in
  ``ChannelAudio.skipped`` with its time range: its span becomes silence and the rest of the
  channel is still transcribed. Only a channel with no readable chunk at all is an error.
* Once the retention sweep has deleted a recording's chunks (``Recording.wav_purged_at``), its Opus
  copy (``Recording.archive_sha256``, already 16 kHz and laid on the same timeline) is the channel:
  ``ChannelSource.archive_sha256`` names it and ``assemble_channel`` decodes it instead.

The waveform is built by streaming each chunk (and each gap, as zeros) through one resampler, so a
two-hour channel is never held at its native rate and chunk boundaries leave no clicks.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from interviewer.transcription.errors import AudioInputError, ModelUnavailable
from storage.blobs import BlobError, BlobStore

WHISPER_RATE = 16000
"""The sample rate Whisper models take."""

_GAP_PIECE_S = 10.0  # silence is fed to the resampler in pieces of at most this many seconds


@dataclass(frozen=True)
class ChunkRef:
    """What the assembler needs to know about one chunk (no ORM objects cross into this module)."""

    index: int
    start_s: float
    blob_sha256: str
    duration_s: float = 0.0


@dataclass(frozen=True)
class SkippedChunk:
    """A chunk that could not be read, where it lies on the timeline, and why."""

    channel: str
    index: int
    start_s: float
    end_s: float
    reason: str


@dataclass(frozen=True)
class ChannelSource:
    """One recorded channel: its rate and its chunks in index order."""

    channel: str
    recording_id: int
    sample_rate: int
    chunks: tuple[ChunkRef, ...]
    archive_sha256: str | None = None
    """The Opus copy to read instead of chunks, for a recording whose WAV chunks were purged."""

    def fingerprint(self) -> str:
        """A hash of exactly what will be assembled: rate, positions and blob hashes of every chunk."""
        if not self.chunks and self.archive_sha256:
            return hashlib.sha256(f"{self.channel}:opus:{self.archive_sha256}".encode()).hexdigest()
        digest = hashlib.sha256(f"{self.channel}:{self.sample_rate}".encode())
        for chunk in self.chunks:
            digest.update(f"|{chunk.index}:{chunk.start_s!r}:{chunk.blob_sha256}".encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class ChannelAudio:
    """A channel as Whisper takes it: float32 mono at 16 kHz, sample 0 at the interview's 0 s."""

    channel: str
    samples: np.ndarray
    source_rate: int
    chunk_count: int
    peak: float
    """Largest absolute sample value (full scale is 1.0)."""
    skipped: tuple[SkippedChunk, ...] = ()
    """Chunks left out because they could not be read (their span is silence)."""

    @property
    def duration_s(self) -> float:
        """Length in seconds on the interview timeline."""
        return len(self.samples) / WHISPER_RATE

    @property
    def is_silent(self) -> bool:
        """Whether the channel never rises above -60 dBFS (a muted or disconnected microphone)."""
        return self.peak < 1e-3


def read_chunk(data: bytes, *, expected_rate: int, where: str) -> np.ndarray:
    """Decode one chunk's WAV bytes into int16 samples; refuse anything but 16-bit PCM mono WAV.

    ``where`` names the chunk in error messages, e.g. ``"chunk 3 of the participant channel"``.
    """
    import soundfile

    if not data:
        raise AudioInputError(f"{where} is an empty file (0 bytes); re-export the recording")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as wav:
            if wav.format != "WAV" or wav.subtype != "PCM_16" or wav.channels != 1:
                raise AudioInputError(
                    f"{where} is {wav.format}/{wav.subtype} with {wav.channels} channel(s); "
                    "chunks must be 16-bit PCM mono WAV"
                )
            if wav.samplerate != expected_rate:
                raise AudioInputError(
                    f"{where} is recorded at {wav.samplerate} Hz but its recording says {expected_rate} Hz"
                )
            samples = wav.read(dtype="int16")
    except AudioInputError:
        raise
    except (RuntimeError, TypeError, ValueError) as error:  # soundfile.LibsndfileError is a RuntimeError
        raise AudioInputError(f"{where} is not a readable WAV file ({error})") from None
    if len(samples) == 0:
        raise AudioInputError(f"{where} holds no audio samples")
    return samples


def assemble_channel(source: ChannelSource, blobs: BlobStore) -> ChannelAudio:
    """Read every chunk of one channel from the blob store and lay them on the interview timeline
    (or, for a recording whose WAV chunks were purged, decode its Opus copy)."""
    if not source.chunks and source.archive_sha256:
        return _from_archive(source, source.archive_sha256, blobs)
    if not source.chunks:
        raise AudioInputError(f"the {source.channel} channel (recording {source.recording_id}) has no chunks")
    if source.sample_rate <= 0:
        raise AudioInputError(f"recording {source.recording_id} has sample rate {source.sample_rate}")
    resampler = _Resampler(source.sample_rate)
    cursor = 0  # next sample position on the timeline, at the native rate
    skipped: list[SkippedChunk] = []
    for chunk in source.chunks:
        where = (f"chunk {chunk.index} of the {source.channel} channel "
                 f"(recording {source.recording_id}, blob {chunk.blob_sha256[:12]})")
        try:
            try:
                data = blobs.get(chunk.blob_sha256)
            except BlobError as error:
                raise AudioInputError(f"{where}: {error}") from None
            samples = read_chunk(data, expected_rate=source.sample_rate, where=where)
        except AudioInputError as error:
            skipped.append(SkippedChunk(source.channel, chunk.index, chunk.start_s,
                                        chunk.start_s + chunk.duration_s, str(error)))
            continue
        start = max(0, round(chunk.start_s * source.sample_rate))
        if start > cursor:
            resampler.feed_silence(start - cursor)
            cursor = start
        elif start < cursor:
            samples = samples[cursor - start:]
        if len(samples):
            resampler.feed(samples)
            cursor += len(samples)
    if len(skipped) == len(source.chunks):
        raise AudioInputError(f"no chunk of the {source.channel} channel (recording {source.recording_id}) "
                              f"could be read; the first: {skipped[0].reason}")
    waveform = resampler.finish()
    peak = float(np.max(np.abs(waveform))) if len(waveform) else 0.0
    return ChannelAudio(channel=source.channel, samples=waveform, source_rate=source.sample_rate,
                        chunk_count=len(source.chunks), peak=peak, skipped=tuple(skipped))


def _from_archive(source: ChannelSource, archive_sha256: str, blobs: BlobStore) -> ChannelAudio:
    from interviewer.transcription.archive import decode

    where = f"the Opus copy of the {source.channel} channel (recording {source.recording_id})"
    try:
        samples, rate = decode(blobs.get(archive_sha256))
    except BlobError as error:
        raise AudioInputError(f"{where}: {error}; its WAV chunks were purged: restore the blob from a backup") from None
    except RuntimeError as error:  # soundfile's LibsndfileError: not an audio file it can read
        raise AudioInputError(f"{where} cannot be decoded: {error}") from None
    if rate != WHISPER_RATE:
        raise AudioInputError(f"{where} is at {rate} Hz, not the {WHISPER_RATE} Hz the archive task writes")
    waveform = samples.astype(np.float32)
    peak = float(np.max(np.abs(waveform))) if len(waveform) else 0.0
    return ChannelAudio(channel=source.channel, samples=waveform, source_rate=rate, chunk_count=0, peak=peak)


def split_into_chunks(samples: np.ndarray, sample_rate: int, chunk_s: float) -> Iterator[tuple[float, bytes]]:
    """Cut int16 mono samples into WAV chunks of ``chunk_s`` seconds: ``(start_s, wav_bytes)`` pairs.

    The inverse of ``assemble_channel`` for contiguous audio; used by pilots, tests and benchmarks.
    """
    step = max(1, round(chunk_s * sample_rate))
    for offset in range(0, len(samples), step):
        yield offset / sample_rate, wav_bytes(samples[offset:offset + step], sample_rate)


def chunk_tag(recording_id: int) -> str:
    """The text a recording writes into each chunk's WAV comment, so that its blobs are its own."""
    return f"voxbank recording {recording_id}"


def wav_bytes(samples: np.ndarray, sample_rate: int, *, tag: str | None = None) -> bytes:
    """Encode int16 mono samples as a 16-bit PCM WAV file in the chunk format.

    ``tag`` goes into the file's INFO comment: two recordings' identical audio (silence) then makes
    two blobs, never one shared by two participants.
    """
    import soundfile

    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", samplerate=sample_rate, channels=1, format="WAV",
                             subtype="PCM_16") as wav:
        if tag is not None:
            wav.comment = tag
        wav.write(np.asarray(samples, dtype=np.int16))
    return buffer.getvalue()


class _Resampler:
    """A streaming int16 -> float32 16 kHz converter; one per channel so its filter state carries over."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.pieces: list[np.ndarray] = []
        self._av = None
        if rate != WHISPER_RATE:
            try:
                import av
            except ImportError:
                raise ModelUnavailable(
                    f"resampling {rate} Hz audio needs PyAV, which comes with faster-whisper; "
                    "run: pip install -e '.[local-voice]'"
                ) from None
            # 16-bit output, as faster-whisper's own decode_audio: a file and its chunks give the same input.
            self._av = av.AudioResampler(format="s16", layout="mono", rate=WHISPER_RATE)

    def feed(self, samples: np.ndarray) -> None:
        if self._av is None:
            self.pieces.append(samples.astype(np.float32) / 32768.0)
            return
        import av

        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.int16).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate = self.rate
        self._collect(self._av.resample(frame))

    def feed_silence(self, count: int) -> None:
        piece = max(1, int(_GAP_PIECE_S * self.rate))
        while count > 0:
            size = min(count, piece)
            self.feed(np.zeros(size, dtype=np.int16))
            count -= size

    def finish(self) -> np.ndarray:
        if self._av is not None:
            self._collect(self._av.resample(None))
        if not self.pieces:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self.pieces).astype(np.float32, copy=False)

    def _collect(self, frames: Iterable[object]) -> None:
        for frame in frames:
            samples = frame.to_ndarray().reshape(-1)  # type: ignore[attr-defined]
            self.pieces.append(samples.astype(np.float32) / 32768.0)
