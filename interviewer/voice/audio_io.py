"""Custom audio I/O for an ``AgentSession`` when no LiveKit room carries the audio.

* `PushAudioInput` is the participant's microphone as the session sees it: a transport (a
  browser's WebRTC track, a WAV player) pushes 16 kHz mono frames in; the session iterates them.
* `PacedAudioOutput` is the participant's speaker: the session captures the interviewer's audio
  into it (faster than real time), and a *device* pulls it out at the pace of real playback, one
  20 ms frame at a time (`pull`): the aiortc track's ``recv`` in the embedded transport, a timer
  in the in-process one. Playback events (started, finished, interrupted at what position) come
  from what the device really pulled, so the session's notion of "what the participant heard"
  (interruptions, the agent message's ``started_speaking_at``) is exact.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from livekit import rtc
from livekit.agents.voice import io

INPUT_RATE = 16000
"""The participant's audio as the session gets it: 16 kHz mono, what Silero and Whisper take."""

OUTPUT_RATE = 24000
"""The interviewer's audio as the devices play it (and as it is recorded)."""

FRAME_S = 0.02
MAX_QUEUED_FRAMES = 1500  # 30 s of 20 ms frames: a stalled consumer loses old audio, not memory

_END = object()


class PushAudioInput(io.AudioInput):
    """Frames pushed by a transport, iterated by the session; `close` ends the stream."""

    def __init__(self, *, label: str) -> None:
        super().__init__(label=label)
        self._queue: deque[rtc.AudioFrame | object] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped_frames = 0

    def push(self, frame: rtc.AudioFrame) -> None:
        """Hand one frame to the session (call on the session's event loop)."""
        if self._closed:
            return
        if len(self._queue) >= MAX_QUEUED_FRAMES:
            self._queue.popleft()
            self.dropped_frames += 1
        self._queue.append(frame)
        self._ready.set()

    def close(self) -> None:
        """No more frames: the session's audio input ends."""
        if not self._closed:
            self._closed = True
            self._queue.append(_END)
            self._ready.set()

    async def __anext__(self) -> rtc.AudioFrame:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        item = self._queue.popleft()
        if item is _END:
            raise StopAsyncIteration
        return item  # type: ignore[return-value]


class PacedAudioOutput(io.AudioOutput):
    """A playout buffer emptied in real time by a device calling `pull`."""

    def __init__(self, *, label: str, sample_rate: int = OUTPUT_RATE) -> None:
        super().__init__(label=label, next_in_chain=None, sample_rate=sample_rate,
                         capabilities=io.AudioOutputCapabilities(pause=True))
        self.rate = sample_rate
        self._buffer = bytearray()
        self._pushed = 0  # samples of the current segment captured
        self._played = 0  # samples of the current segment pulled by the device
        self._flushed = False
        self._started = False
        self._paused = False
        self.played_s = 0.0
        """Seconds of interviewer audio (not silence) the device has pulled, over the whole session."""

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if frame.sample_rate != self.rate or frame.num_channels != 1:
            raise ValueError(f"{self.label} takes {self.rate} Hz mono frames, got {frame.sample_rate} Hz "
                             f"with {frame.num_channels} channel(s)")
        if self._flushed:
            # a new segment began before the device finished the last one: finish it where it is
            self._finish(interrupted=False)
        self._buffer += bytes(frame.data)
        self._pushed += frame.samples_per_channel

    def flush(self) -> None:
        super().flush()
        if self._pushed:
            self._flushed = True
            if not self._buffer:
                self._finish(interrupted=False)

    def clear_buffer(self) -> None:
        if self._pushed:
            self._buffer.clear()
            self._finish(interrupted=True)

    def pause(self) -> None:
        super().pause()
        self._paused = True

    def resume(self) -> None:
        super().resume()
        self._paused = False

    def pull(self, samples: int) -> bytes:
        """The next ``samples`` of playback (int16 mono): interviewer audio, else silence."""
        if self._paused or not self._buffer:
            return bytes(2 * samples)
        take = bytes(self._buffer[:2 * samples])
        del self._buffer[:2 * samples]
        if not self._started:
            self._started = True
            self.on_playback_started(created_at=time.time())
        self._played += len(take) // 2
        self.played_s += len(take) / 2 / self.rate
        if not self._buffer and self._flushed:
            self._finish(interrupted=False)
        return take + bytes(2 * samples - len(take))

    def _finish(self, *, interrupted: bool) -> None:
        position = self._played / self.rate
        self._pushed = self._played = 0
        self._flushed = self._started = False
        self.on_playback_finished(playback_position=position, interrupted=interrupted)


def pcm_frame(data: bytes, sample_rate: int) -> rtc.AudioFrame:
    """int16 mono bytes as an ``rtc.AudioFrame``."""
    return rtc.AudioFrame(data, sample_rate, 1, len(data) // 2)


class Metronome:
    """Ticks every ``period`` seconds on an absolute schedule; after a stall it reports the ticks missed."""

    def __init__(self, period: float = FRAME_S) -> None:
        self.period = period
        self._next: float | None = None

    async def wait(self) -> int:
        """Sleep until the next tick; returns how many ticks are due (1, or more after a stall)."""
        now = time.monotonic()
        if self._next is None:
            self._next = now
        delay = self._next - now
        if delay > 0:
            await asyncio.sleep(delay)
            now = time.monotonic()
        due = max(1, int((now - self._next) / self.period) + 1)
        if due > 50:  # more than a second behind: skip ahead rather than burst
            due = 1
            self._next = now
        self._next += due * self.period
        return due
