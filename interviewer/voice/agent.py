"""The interviewer as a livekit-agents ``Agent``: it speaks what the conductor decides and nothing else.

The session has no LLM. On entering, the agent asks the conductor for its opening and says it;
when the participant's turn ends, `on_user_turn_completed` hands the transcript and its duration
to the conductor (which persists the answer, decides, persists the reply and a checkpoint) and
says the reply with ``session.say``: scripted questions verbatim, follow-ups as the conductor
wrote them. `StopResponse` then tells the framework that no LLM reply is wanted.

The opening (intro) and the closing cannot be interrupted; questions and follow-ups can (barge-in),
and a false interruption resumes them.

Speed (`Quickness`, from `VoiceOptions`): scripted words made ahead are played from memory
(`Presynthesis`); when the reply is not ready ``acknowledge_after_s`` after the end of the turn, one
of the guide's acknowledgements is said first ("I see."), so the participant is not left in
silence while the conductor decides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from livekit.agents import NOT_GIVEN, Agent, StopResponse, llm
from livekit.agents.voice import SpeechHandle

from interviewer.conductor.conductor import CLOSING, SCRIPTED, Utterance
from interviewer.voice.conducting import ConductorDriver, InterviewUnavailable, Spoken
from interviewer.voice.presynthesis import Presynthesis

log = logging.getLogger(__name__)

INSTRUCTIONS = "The interview's conductor decides every word; this agent only speaks them."
ACKNOWLEDGEMENT = "acknowledgement"
"""The kind of a short acknowledgement said while the reply is decided (not a conductor turn)."""


@dataclass(frozen=True)
class Heard:
    """A participant's turn as the session heard it (unix times from the VAD)."""

    seq: int | None
    text: str
    started_at: float | None
    stopped_at: float | None


@dataclass(frozen=True)
class Said:
    """One interviewer utterance handed to the session, and the turn it is stored as."""

    seq: int | None
    utterance: Utterance
    answers: Heard | None
    """The participant's turn this utterance is the first reply to."""
    last: bool
    """Whether it ends the interview."""


@dataclass(frozen=True)
class Quickness:
    """What makes the replies come sooner (all off by default)."""

    presynthesis: Presynthesis | None = None
    acknowledgements: tuple[str, ...] = ()
    acknowledge_after_s: float | None = None
    on_turn_ended: Callable[[], None] | None = None
    """Called when a turn is handed to the conductor (the speculator starts a new turn)."""


class InterviewerAgent(Agent):
    """Says the conductor's replies; ``on_said(said, handle)`` follows each one to its playout."""

    def __init__(self, driver: ConductorDriver, *, on_said: Callable[[Said, SpeechHandle], None],
                 on_heard: Callable[[Heard], None] | None = None, quickness: Quickness | None = None) -> None:
        super().__init__(instructions=INSTRUCTIONS)
        self.driver = driver
        self._on_said = on_said
        self._on_heard = on_heard
        self._quick = quickness or Quickness()
        self._acknowledged = 0
        self.acknowledgements_said = 0
        """How many acknowledgements this session said (for pilots)."""

    async def on_enter(self) -> None:
        self._say(await self.driver.open(), None)

    async def on_user_turn_completed(self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage) -> None:
        if self._quick.on_turn_ended is not None:
            self._quick.on_turn_ended()
        text = (new_message.text_content or "").strip()
        if not text or self.driver.done:
            raise StopResponse()
        metrics = new_message.metrics or {}
        started, stopped = metrics.get("started_speaking_at"), metrics.get("stopped_speaking_at")
        seconds = stopped - started if started is not None and stopped is not None else _estimated_seconds(text)
        reply = asyncio.ensure_future(self.driver.respond(text, max(0.0, seconds)))
        after = self._quick.acknowledge_after_s
        if after is not None and self._quick.acknowledgements:
            done, _ = await asyncio.wait({reply}, timeout=after)
            if not done:
                self._acknowledge(Heard(None, text, started, stopped))
        try:
            spoken = await reply
        except InterviewUnavailable:  # withdrawn (or otherwise closed) while it ran: hang up, say nothing more
            log.info("the interview is no longer available; ending the session",
                     extra={"interview_id": self.driver.interview_id})
            self.session.shutdown(drain=False)
            raise StopResponse() from None
        heard = Heard(spoken.answer_seq, text, started, stopped)
        if self._on_heard is not None:
            self._on_heard(heard)
        self._say(spoken, heard)
        raise StopResponse()

    def _say(self, spoken: Spoken, heard: Heard | None) -> None:
        utterances = spoken.reply.utterances
        presynthesis = self._quick.presynthesis
        handle: SpeechHandle | None = None
        for number, utterance in enumerate(utterances):
            interruptible = not (utterance.kind == CLOSING or (utterance.kind == SCRIPTED and utterance.question_id
                                                                 is None))
            audio = presynthesis.audio(utterance.text) if presynthesis is not None else None
            try:
                handle = self.session.say(utterance.text, audio=audio if audio is not None else NOT_GIVEN,
                                          allow_interruptions=interruptible)
            except RuntimeError:  # the session is closing: the reply is stored; a resumed session says it
                log.info("session closing; reply left for the resumed session",
                         extra={"interview_id": self.driver.interview_id})
                return
            seq = None if spoken.first_seq is None else spoken.first_seq + number
            said = Said(seq, utterance, heard if number == 0 else None,
                        last=spoken.reply.done and number == len(utterances) - 1)
            self._on_said(said, handle)
        if presynthesis is not None and handle is not None and spoken.upcoming:
            # made while the participant answers, not while this reply is still being synthesised
            handle.add_done_callback(lambda _: presynthesis.prepare(spoken.upcoming))

    def _acknowledge(self, heard: Heard) -> None:
        """Say the next of the guide's acknowledgements now: the reply is still being decided."""
        words = self._quick.acknowledgements
        text = words[self._acknowledged % len(words)]
        self._acknowledged += 1
        presynthesis = self._quick.presynthesis
        audio = presynthesis.audio(text) if presynthesis is not None else None
        try:
            # kept in the (unused) chat context: its message carries the playout times the session measures
            handle = self.session.say(text, audio=audio if audio is not None else NOT_GIVEN, allow_interruptions=True)
        except RuntimeError:
            return
        self.acknowledgements_said += 1
        self._on_said(Said(None, Utterance(text, ACKNOWLEDGEMENT, None, 0.0, 0.0), heard, last=False), handle)


def _estimated_seconds(text: str) -> float:
    """Speaking time from words when the VAD gave no times (150 words a minute)."""
    return len(text.split()) / 2.5
