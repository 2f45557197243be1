"""The microphone gate: silence while paused, and silence (not a stall) when the transport sends nothing."""

from __future__ import annotations

import asyncio

import numpy as np

from interviewer.voice.audio_io import INPUT_RATE, PushAudioInput, pcm_frame
from interviewer.voice.input_gate import GatedAudioInput


def _speech(samples: int = 320) -> bytes:
    return np.full(samples, 3000, dtype=np.int16).tobytes()


def test_a_microphone_that_sends_nothing_reaches_the_session_as_silence_and_its_next_frame_is_kept() -> None:
    async def run() -> tuple[list[bytes], float]:
        source = PushAudioInput(label="muted")
        gate = GatedAudioInput(source, gap_s=0.05)
        frames = [bytes((await gate.__anext__()).data) for _ in range(3)]  # nothing was pushed
        source.push(pcm_frame(_speech(), INPUT_RATE))
        frames.append(bytes((await gate.__anext__()).data))
        return frames, gate.filled_s

    frames, filled = asyncio.run(run())
    assert [any(frame) for frame in frames] == [False, False, False, True]
    assert frames[0] == bytes(2 * round(0.05 * INPUT_RATE))
    assert round(filled, 2) == 0.15


def test_while_paused_what_the_microphone_hears_becomes_silence_of_the_same_length() -> None:
    async def run() -> list[bytes]:
        source = PushAudioInput(label="microphone")
        gate = GatedAudioInput(source)
        gate.paused = True
        source.push(pcm_frame(_speech(), INPUT_RATE))
        paused = bytes((await gate.__anext__()).data)
        gate.paused = False
        source.push(pcm_frame(_speech(), INPUT_RATE))
        return [paused, bytes((await gate.__anext__()).data)]

    paused, heard = asyncio.run(run())
    assert paused == bytes(640) and heard == _speech()
