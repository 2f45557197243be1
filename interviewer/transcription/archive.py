"""The compressed archival and listening copy of a recording: Opus in Ogg (libsndfile via soundfile).

Two hours of two-channel 16-bit PCM (16 kHz participant, 24 kHz interviewer) is about 576 MB; the
same speech in Opus is a few tens of MB (``python -m bench.audio_archive`` measures it, with the WER
of transcribing the Opus copy against the WAV). Opus takes 8, 12, 16, 24 or 48 kHz input, which
covers both channels as they are recorded; anything else is refused rather than resampled here.
"""

from __future__ import annotations

import io

import numpy as np

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
DEFAULT_COMPRESSION = 0.9
"""soundfile's Opus compression level (0: largest; 1: smallest). At 0.9 speech takes about 2.3 kB/s, and
Whisper's transcript of it differs from the WAV's by one word in 260 (bench.audio_archive)."""


class ArchiveError(ValueError):
    """The audio cannot be archived as given (the message says why)."""


def opus_bytes(samples: np.ndarray, sample_rate: int, *, compression_level: float = DEFAULT_COMPRESSION) -> bytes:
    """Encode mono samples (int16 or float in [-1, 1]) as Opus in an Ogg container."""
    import soundfile

    if sample_rate not in OPUS_RATES:
        raise ArchiveError(f"Opus needs a sample rate of {', '.join(map(str, OPUS_RATES))} Hz, not {sample_rate}")
    if not 0.0 <= compression_level <= 1.0:
        raise ArchiveError(f"compression_level must be between 0 and 1, not {compression_level}")
    data = np.asarray(samples)
    scale = 1.0 / 32768.0 if data.dtype == np.int16 else 1.0
    buffer = io.BytesIO()
    # Written a minute at a time: a two-hour channel (460 MB as float32) is never copied whole.
    step = 60 * sample_rate
    with soundfile.SoundFile(buffer, "w", sample_rate, 1, format="OGG", subtype="OPUS",
                             compression_level=compression_level) as handle:
        for start in range(0, len(data), step):
            handle.write(np.asarray(data[start:start + step], dtype=np.float32) * np.float32(scale))
    return buffer.getvalue()


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Decode an audio file's bytes (Opus, WAV ...) to float32 mono samples and their rate."""
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=False)
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    return samples, int(rate)
