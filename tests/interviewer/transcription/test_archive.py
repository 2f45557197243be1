"""The Opus archival copy: a fraction of the WAV's size, the same length, and refused for rates Opus lacks."""

from __future__ import annotations

import numpy as np
import pytest

from interviewer.transcription.archive import ArchiveError, decode, opus_bytes
from interviewer.transcription.audio import wav_bytes


def speech_like(rate: int, seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)  # syllable-rate loudness changes
    return (envelope * (0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1800 * t))).astype(np.float32)


@pytest.mark.parametrize("rate", [16000, 24000])
def test_the_opus_copy_is_much_smaller_and_keeps_the_length(rate: int) -> None:
    samples = speech_like(rate)
    opus = opus_bytes(samples, rate)
    wav = wav_bytes((samples * 32767).astype(np.int16), rate)
    decoded, decoded_rate = decode(opus)
    assert decoded_rate == rate
    assert abs(len(decoded) - len(samples)) / rate < 0.05
    assert len(opus) < len(wav) / 4


def test_the_opus_copy_sounds_like_the_original() -> None:
    samples = speech_like(16000)
    decoded, _ = decode(opus_bytes(samples, 16000))
    n = min(len(samples), len(decoded))
    lag = int(np.argmax(np.correlate(decoded[:4000], samples[:4000], mode="full"))) - 3999
    aligned = decoded[max(lag, 0):n] if lag >= 0 else decoded[:n + lag]
    reference = samples[:len(aligned)] if lag >= 0 else samples[-lag:-lag + len(aligned)]
    assert np.corrcoef(aligned, reference)[0, 1] > 0.9


def test_a_rate_opus_cannot_take_is_refused_by_name() -> None:
    expected = "Opus needs a sample rate of 8000, 12000, 16000, 24000, 48000 Hz, not 22050"
    with pytest.raises(ArchiveError, match=expected):
        opus_bytes(np.zeros(22050, dtype=np.float32), 22050)
