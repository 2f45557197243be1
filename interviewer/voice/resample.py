"""The one resampler: livekit's ``rtc.AudioResampler`` (soxr, high quality) over a whole buffer.

Used wherever audio changes rate: the participant's speech on its way to Whisper (16 kHz), a WAV
played into an in-process session, and a recording continued at another rate after a rejoin.
"""

from __future__ import annotations

import numpy as np
from livekit import rtc


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """int16 mono ``samples`` at ``rate`` as int16 mono at ``target``: ``round(len * target / rate)``
    samples, filtered against aliasing (not a linear interpolation)."""
    samples = np.asarray(samples, dtype=np.int16)
    if rate == target or not len(samples):
        return samples
    resampler = rtc.AudioResampler(input_rate=rate, output_rate=target, num_channels=1,
                                   quality=rtc.AudioResamplerQuality.HIGH)
    pieces = [*resampler.push(rtc.AudioFrame(samples.tobytes(), rate, 1, len(samples))), *resampler.flush()]
    if not pieces:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([np.frombuffer(bytes(piece.data), dtype=np.int16) for piece in pieces])
