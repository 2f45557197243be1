"""Audio synthesised before it is needed: the next scripted question, the closing, the acknowledgements.

Scripted words are known in advance (``Spoken.upcoming``), so they are synthesised while the
participant answers and played from memory when their turn comes (``AgentSession.say`` with
``audio``), instead of waiting for the first sentence's synthesis after the decision. A text
still being synthesised is played once it is done. Texts not prepared go through the session's
TTS, sentence by sentence, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable

from livekit import rtc
from livekit.agents import tts

log = logging.getLogger(__name__)

KEEP = 8
"""Texts kept at most (the oldest is forgotten first): a few seconds of audio each."""


class Presynthesis:
    """A session's audio made ahead, by text."""

    def __init__(self, voice: tts.TTS, *, keep: int = KEEP) -> None:
        self._voice = voice
        self._keep = keep
        self._ready: OrderedDict[str, asyncio.Task[list[rtc.AudioFrame]]] = OrderedDict()
        self.used = 0
        """How many utterances were played from audio made ahead."""

    def prepare(self, texts: Iterable[str]) -> None:
        """Start synthesising each text not already made or being made (call on the event loop)."""
        for text in texts:
            if not text.strip():
                continue
            if text in self._ready:
                self._ready.move_to_end(text)
                continue
            self._ready[text] = asyncio.create_task(self._synthesise(text), name="voxbank.voice.presynthesis")
            while len(self._ready) > self._keep:
                _, oldest = self._ready.popitem(last=False)
                oldest.cancel()

    def has(self, text: str) -> bool:
        """Whether ``text`` is made or being made."""
        return text in self._ready

    def audio(self, text: str) -> AsyncIterator[rtc.AudioFrame] | None:
        """The audio of ``text`` made ahead (frames as they are ready), or None when it was not prepared."""
        task = self._ready.get(text)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            return None
        self.used += 1
        return _frames(task)

    async def aclose(self) -> None:
        """Stop what is still being synthesised."""
        for task in self._ready.values():
            task.cancel()
        for task in self._ready.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._ready.clear()

    async def _synthesise(self, text: str) -> list[rtc.AudioFrame]:
        frames: list[rtc.AudioFrame] = []
        try:
            async with self._voice.synthesize(text) as stream:
                async for audio in stream:
                    frames.append(audio.frame)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not synthesise ahead; the text will be synthesised when said", exc_info=True)
            raise
        return frames


async def _frames(task: asyncio.Task[list[rtc.AudioFrame]]) -> AsyncIterator[rtc.AudioFrame]:
    for frame in await asyncio.shield(task):
        yield frame
