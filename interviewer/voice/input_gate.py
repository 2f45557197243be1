"""The participant's microphone as the session hears it: silenced while paused, never stalled.

`GatedAudioInput` sits between a transport's audio input and the session:

* while ``paused`` (the page's Pause button), every frame becomes digital silence: nothing the
  participant says while paused is heard, transcribed or recorded;
* when the transport delivers nothing for ``gap_s`` (a muted microphone whose browser stops
  sending packets, a stalled network), it hands the session that much silence, so the voice
  activity detector still sees a turn end and the silence timer still runs. Without it, a turn
  that was under way when the frames stopped would never end.
"""

from __future__ import annotations

import asyncio

from livekit import rtc
from livekit.agents.voice import io

from interviewer.voice.audio_io import INPUT_RATE, pcm_frame

GAP_S = 0.1
"""No frame from the transport for this long counts as silence."""


class GatedAudioInput(io.AudioInput):
    """A transport's audio input, silenced while paused and filled with silence where it stalls."""

    def __init__(self, source: io.AudioInput, *, gap_s: float = GAP_S, sample_rate: int = INPUT_RATE) -> None:
        super().__init__(label="voxbank.gate", source=source)
        self.paused = False
        self.filled_s = 0.0
        """Seconds of silence handed on because the transport delivered nothing."""
        self._gap_s = gap_s
        self._rate = sample_rate
        self._next: asyncio.Task[rtc.AudioFrame] | None = None

    async def __anext__(self) -> rtc.AudioFrame:
        if self._next is None:
            self._next = asyncio.ensure_future(super().__anext__())
        done, _ = await asyncio.wait({self._next}, timeout=self._gap_s)
        if not done:  # the transport is silent: the pending read stays for the next call
            self.filled_s += self._gap_s
            return self._silence(round(self._gap_s * self._rate))
        task, self._next = self._next, None
        frame = task.result()  # StopAsyncIteration ends the stream as the source's would
        if self.paused:
            return self._silence(frame.samples_per_channel, frame.sample_rate)
        return frame

    def _silence(self, samples: int, rate: int | None = None) -> rtc.AudioFrame:
        return pcm_frame(bytes(2 * samples), rate or self._rate)
