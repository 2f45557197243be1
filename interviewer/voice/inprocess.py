"""The in-process transport: a simulated participant's microphone and speaker, in real time.

For tests and voice pilots: no server, no browser, no network. The microphone sends 20 ms frames
of 16 kHz audio continuously, as a real one does: the speech queued with `speak`, else silence
(the VAD needs the silence to hear a turn end). The speaker pulls the interviewer's audio out of
the session's output at the pace of playback and keeps what it heard.

    transport = InProcessTransport()
    session = InterviewSession(runtime, transport.attach)
    await session.start()
    await transport.speak(load_speech("answer.wav"))     # returns when the answer has been "said"
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from livekit.agents import AgentSession

from interviewer.voice.audio_io import (
    FRAME_S,
    INPUT_RATE,
    OUTPUT_RATE,
    Metronome,
    PacedAudioOutput,
    PushAudioInput,
    pcm_frame,
)
from interviewer.voice.resample import resample

SILENCE_PEAK = 64  # int16 peak below which a played frame counts as silence


@dataclass(frozen=True)
class HeardFrame:
    """A frame of interviewer audio the speaker played, and when (``time.monotonic()``)."""

    at: float
    samples: np.ndarray


class InProcessTransport:
    """A microphone fed from arrays and a speaker that records what it plays, both in real time."""

    def __init__(self, *, output_rate: int = OUTPUT_RATE) -> None:
        self.input = PushAudioInput(label="in-process microphone")
        self.output = PacedAudioOutput(label="in-process speaker", sample_rate=output_rate)
        self.heard: list[HeardFrame] = []
        self._speech: deque[tuple[np.ndarray, asyncio.Future[None]]] = deque()
        self._offset = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def attach(self, session: AgentSession) -> None:
        """Give the session this microphone and speaker, and start both."""
        session.input.audio = self.input
        session.output.audio = self.output
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._microphone(), name="voxbank.inprocess.microphone"),
                           asyncio.create_task(self._speaker(), name="voxbank.inprocess.speaker")]

    def speak(self, samples: np.ndarray) -> asyncio.Future[None]:
        """Queue 16 kHz int16 speech; the future resolves once its last frame has been sent."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._speech.append((np.asarray(samples, dtype=np.int16), done))
        return done

    def heard_seconds(self) -> float:
        """Seconds of interviewer audio (not silence) the speaker has played."""
        return sum(len(frame.samples) for frame in self.heard) / self.output.rate

    async def close(self) -> None:
        """Stop the microphone (the session's input ends) and the speaker."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self.input.close()

    async def _microphone(self) -> None:
        step = round(FRAME_S * INPUT_RATE)
        metronome = Metronome()
        while True:
            for _ in range(await metronome.wait()):
                self.input.push(pcm_frame(self._next_input(step).tobytes(), INPUT_RATE))

    def _next_input(self, step: int) -> np.ndarray:
        out = np.zeros(step, dtype=np.int16)
        filled = 0
        while filled < step and self._speech:
            samples, done = self._speech[0]
            take = samples[self._offset:self._offset + step - filled]
            out[filled:filled + len(take)] = take
            filled += len(take)
            self._offset += len(take)
            if self._offset >= len(samples):
                self._speech.popleft()
                self._offset = 0
                if not done.done():
                    done.set_result(None)
        return out

    async def _speaker(self) -> None:
        step = round(FRAME_S * self.output.rate)
        metronome = Metronome()
        loop = asyncio.get_running_loop()
        while True:
            for _ in range(await metronome.wait()):
                samples = np.frombuffer(self.output.pull(step), dtype=np.int16)
                if len(samples) and int(np.max(np.abs(samples))) > SILENCE_PEAK:
                    self.heard.append(HeardFrame(loop.time(), samples))


def load_speech(path: Path) -> np.ndarray:
    """A WAV (any rate, any channels) as 16 kHz mono int16, the microphone's format."""
    import soundfile

    data, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    mono = data.mean(axis=1).astype(np.int16)
    return resample(mono, rate, INPUT_RATE)
