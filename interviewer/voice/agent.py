"""The interviewer as a livekit-agents ``Agent``: it speaks what the conductor decides and nothing else.

The session has no LLM. On entering, the agent asks the conductor for its opening and says it;
when the participant's turn ends, `on_user_turn_completed` hands the transcript and its duration
to the conductor (which persists the answer, decides, persists the reply and a checkpoint) and
says the reply with ``session.say``: scripted questions verbatim, follow-ups as the conductor
wrote them. `StopResponse` then tells the framework that no LLM reply is wanted.

The opening (intro) and the closing cannot be interrupted; questions and follow-ups can (barge-in),
and a false interruption resumes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from livekit.agents import Agent, StopResponse, llm
from livekit.agents.voice import SpeechHandle

from interviewer.conductor.conductor import CLOSING, SCRIPTED, Utterance
from interviewer.voice.conducting import ConductorDriver, InterviewUnavailable, Spoken

log = logging.getLogger(__name__)

INSTRUCTIONS = "The interview's conductor decides every word; this agent only speaks them."


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


class InterviewerAgent(Agent):
    """Says the conductor's replies; ``on_said(said, handle)`` follows each one to its playout."""

    def __init__(self, driver: ConductorDriver, *, on_said: Callable[[Said, SpeechHandle], None],
                 on_heard: Callable[[Heard], None] | None = None) -> None:
        super().__init__(instructions=INSTRUCTIONS)
        self.driver = driver
        self._on_said = on_said
        self._on_heard = on_heard

    async def on_enter(self) -> None:
        self._say(await self.driver.open(), None)

    async def on_user_turn_completed(self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage) -> None:
        text = (new_message.text_content or "").strip()
        if not text or self.driver.done:
            raise StopResponse()
        metrics = new_message.metrics or {}
        started, stopped = metrics.get("started_speaking_at"), metrics.get("stopped_speaking_at")
        seconds = stopped - started if started is not None and stopped is not None else _estimated_seconds(text)
        try:
            spoken = await self.driver.respond(text, max(0.0, seconds))
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
        for number, utterance in enumerate(utterances):
            interruptible = not (utterance.kind == CLOSING or (utterance.kind == SCRIPTED and utterance.question_id
                                                                 is None))
            try:
                handle = self.session.say(utterance.text, allow_interruptions=interruptible)
            except RuntimeError:  # the session is closing: the reply is stored; a resumed session says it
                log.info("session closing; reply left for the resumed session",
                         extra={"interview_id": self.driver.interview_id})
                return
            seq = None if spoken.first_seq is None else spoken.first_seq + number
            said = Said(seq, utterance, heard if number == 0 else None,
                        last=spoken.reply.done and number == len(utterances) - 1)
            self._on_said(said, handle)


def _estimated_seconds(text: str) -> float:
    """Speaking time from words when the VAD gave no times (150 words a minute)."""
    return len(text.split()) / 2.5
