"""Chunks are read back into one 16 kHz channel on the interview timeline; bad chunks are named."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from interviewer.transcription.audio import (
    WHISPER_RATE,
    ChannelSource,
    ChunkRef,
    assemble_channel,
    read_chunk,
    split_into_chunks,
    wav_bytes,
)
from interviewer.transcription.errors import AudioInputError
from storage.blobs import BlobStore


def tone(seconds: float, rate: int, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def source(blobs: BlobStore, pieces: list[tuple[float, bytes]], rate: int = WHISPER_RATE) -> ChannelSource:
    chunks = tuple(ChunkRef(index, start, blobs.put(data)) for index, (start, data) in enumerate(pieces))
    return ChannelSource(channel="participant", recording_id=7, sample_rate=rate, chunks=chunks)


def test_contiguous_chunks_at_16_khz_come_back_sample_for_sample(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    samples = tone(2.5, WHISPER_RATE)
    audio = assemble_channel(source(blobs, list(split_into_chunks(samples, WHISPER_RATE, 1.0))), blobs)
    assert audio.chunk_count == 3
    assert audio.duration_s == 2.5
    np.testing.assert_array_equal(audio.samples, samples.astype(np.float32) / 32768.0)


def test_a_gap_between_chunks_is_silence_and_keeps_the_timeline(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    audio = assemble_channel(source(blobs, [(0.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE)),
                                            (3.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE))]), blobs)
    assert audio.duration_s == 4.0
    assert not audio.samples[WHISPER_RATE:3 * WHISPER_RATE].any()
    assert audio.samples[3 * WHISPER_RATE:].any()


def test_a_recording_that_starts_late_is_placed_at_its_start_time(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    audio = assemble_channel(source(blobs, [(2.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE))]), blobs)
    assert audio.duration_s == 3.0
    assert not audio.samples[:2 * WHISPER_RATE].any()


def test_overlapping_chunks_keep_the_earlier_audio(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    first = np.full(WHISPER_RATE, 1000, dtype=np.int16)
    second = np.full(WHISPER_RATE, 2000, dtype=np.int16)
    audio = assemble_channel(source(blobs, [(0.0, wav_bytes(first, WHISPER_RATE)),
                                            (0.5, wav_bytes(second, WHISPER_RATE))]), blobs)
    assert audio.duration_s == 1.5
    assert set(np.unique(audio.samples[:WHISPER_RATE] * 32768)) == {1000.0}
    assert set(np.unique(audio.samples[WHISPER_RATE:] * 32768)) == {2000.0}


def test_other_sample_rates_are_resampled_to_16_khz_without_drift(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    samples = tone(10.0, 22050)
    audio = assemble_channel(source(blobs, list(split_into_chunks(samples, 22050, 3.0)), rate=22050), blobs)
    assert audio.source_rate == 22050
    assert abs(len(audio.samples) - 10 * WHISPER_RATE) <= 2
    assert audio.samples.dtype == np.float32
    assert 0.2 < audio.peak < 0.3  # 8000 / 32768


def test_silence_is_reported_as_silent(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    quiet = assemble_channel(source(blobs, [(0.0, wav_bytes(np.zeros(WHISPER_RATE, np.int16), WHISPER_RATE))]), blobs)
    loud = assemble_channel(source(blobs, [(0.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE))]), blobs)
    assert quiet.is_silent
    assert not loud.is_silent


def test_a_channel_without_chunks_is_an_input_error(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    with pytest.raises(AudioInputError, match=r"^the participant channel \(recording 7\) has no chunks$"):
        assemble_channel(ChannelSource("participant", 7, WHISPER_RATE, ()), blobs)


@pytest.mark.parametrize(("data", "message"), [
    (b"", r"^chunk 0 of x is an empty file \(0 bytes\); re-export the recording$"),
    (b"RIFF\x00\x00 this is not audio at all", r"^chunk 0 of x is not a readable WAV file \(.+\)$"),
])
def test_unreadable_chunks_are_named_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(AudioInputError, match=message):
        read_chunk(data, expected_rate=WHISPER_RATE, where="chunk 0 of x")


def test_a_wav_without_samples_is_refused() -> None:
    with pytest.raises(AudioInputError, match=r"^chunk 0 of x holds no audio samples$"):
        read_chunk(wav_bytes(np.zeros(0, np.int16), WHISPER_RATE), expected_rate=WHISPER_RATE, where="chunk 0 of x")


def test_stereo_float_and_wrong_rate_chunks_are_refused() -> None:
    stereo = io.BytesIO()
    soundfile.write(stereo, np.zeros((100, 2), np.int16), WHISPER_RATE, format="WAV", subtype="PCM_16")
    with pytest.raises(AudioInputError, match=r"is WAV/PCM_16 with 2 channel\(s\); chunks must be 16-bit PCM mono WAV"):
        read_chunk(stereo.getvalue(), expected_rate=WHISPER_RATE, where="chunk 0 of x")
    floats = io.BytesIO()
    soundfile.write(floats, np.zeros(100, np.float32), WHISPER_RATE, format="WAV", subtype="FLOAT")
    with pytest.raises(AudioInputError, match=r"is WAV/FLOAT with 1 channel\(s\)"):
        read_chunk(floats.getvalue(), expected_rate=WHISPER_RATE, where="chunk 0 of x")
    wrong_rate = r"^chunk 0 of x is recorded at 16000 Hz but its recording says 48000 Hz$"
    with pytest.raises(AudioInputError, match=wrong_rate):
        read_chunk(wav_bytes(tone(0.1, WHISPER_RATE), WHISPER_RATE), expected_rate=48000, where="chunk 0 of x")


def test_a_missing_or_damaged_blob_is_named(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    channel = source(blobs, [(0.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE))])
    sha = channel.chunks[0].blob_sha256
    blobs.path_for(sha).write_bytes(b"bit rot")
    with pytest.raises(AudioInputError, match=rf"^no chunk of the participant channel \(recording 7\) could be read; "
                                              rf"the first: chunk 0 of the participant channel \(recording 7, "
                                              rf"blob {sha[:12]}\): blob {sha} at .+ is corrupted"):
        assemble_channel(channel, blobs)
    blobs.delete(sha)
    with pytest.raises(AudioInputError, match=rf"blob {sha} is not in the store"):
        assemble_channel(channel, blobs)


def test_an_unreadable_chunk_is_skipped_and_its_span_is_silence(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    channel = source(blobs, [(0.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE)),
                             (1.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE)),
                             (2.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE))])
    channel = ChannelSource(channel.channel, channel.recording_id, channel.sample_rate,
                            (channel.chunks[0], ChunkRef(1, 1.0, blobs.put(b"not audio"), 1.0), channel.chunks[2]))
    audio = assemble_channel(channel, blobs)
    assert [(c.index, c.start_s, c.end_s) for c in audio.skipped] == [(1, 1.0, 2.0)]
    assert audio.duration_s == pytest.approx(3.0, abs=0.01)
    assert float(np.max(np.abs(audio.samples[int(1.1 * WHISPER_RATE):int(1.9 * WHISPER_RATE)]))) == 0.0
    assert float(np.max(np.abs(audio.samples[int(2.1 * WHISPER_RATE):]))) > 0.1, "the chunk after it is kept"


def test_the_fingerprint_changes_with_any_chunk(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    one = source(blobs, [(0.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE))])
    moved = ChannelSource(one.channel, one.recording_id, one.sample_rate,
                          (ChunkRef(0, 0.5, one.chunks[0].blob_sha256),))
    assert one.fingerprint() == source(blobs, [(0.0, wav_bytes(tone(1.0, WHISPER_RATE), WHISPER_RATE))]).fingerprint()
    assert one.fingerprint() != moved.fingerprint()
