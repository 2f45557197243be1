"""The interview page's controls, and what the page shows, for one voice session.

Messages to the page (the transport sends them: the embedded WebRTC data channel):

* ``{"type": "state", "state": "speaking" | "listening" | "thinking" | "paused"}``: the interviewer
  is speaking, listening to the participant, or deciding what to say; or the interview is paused;
* ``{"type": "progress", "module": title, "module_number": n, "modules": total, "left_s": s}``: where
  the interview is in the guide, and the time left in its budget (the conductor's clock, which counts
  speech: it stands still while paused);
* ``{"type": "caption", "speaker": "participant", "text": ...}``: what the participant said, as heard
  (the interviewer's captions come from the transport as each utterance is queued);
* ``{"type": "recap", "text": ...}``: after a reload, the question already heard, shown, not said again.

Messages from the page: ``{"type": "pause"}``, ``{"type": "resume"}``, ``{"type": "end"}``. Pause
stops the interviewer's audio where it is and silences the microphone (`GatedAudioInput`); Resume
goes on from there; End stops the interview kindly with the guide's own words and records why
(``stopped: the participant pressed End interview``). After ``still_there_s`` of silence from the
participant while the interviewer listens, it says the guide's ``still_there`` line, once per wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from livekit.agents import AgentSession

from interviewer.conductor.conductor import TRANSITION, Utterance
from interviewer.voice import presence
from interviewer.voice.input_gate import GatedAudioInput

if TYPE_CHECKING:
    from interviewer.voice.session import InterviewSession

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], None]
COMMANDS = ("pause", "resume", "end")


class SessionControls:
    """Pause, resume and end one session; tell the page its state, progress and the participant's words."""

    def __init__(self, owner: InterviewSession, session: AgentSession, gate: GatedAudioInput, send: Send) -> None:
        self._owner = owner
        self._session = session
        self._gate = gate
        self._send = send
        self.paused = False
        self.ending = False
        self._state = "listening"
        self._asked_still_there = False
        self.sent: list[dict[str, Any]] = []
        """Every message sent to the page (for tests and pilots)."""
        session.on("agent_state_changed", self._on_agent_state)
        session.on("user_state_changed", self._on_user_state)
        session.on("user_input_transcribed", self._on_transcribed)

    # ------------------------------------------------------------------ from the page

    async def handle(self, message: dict[str, Any]) -> None:
        """Act on a message from the page; unknown messages are logged and ignored."""
        kind = message.get("type")
        if kind == "pause":
            await self.pause()
        elif kind == "resume":
            await self.resume()
        elif kind == "end":
            await self.end()
        else:
            log.warning("unknown message from the interview page", extra={"type": str(kind)[:40]})

    async def pause(self) -> None:
        """Stop the interviewer's audio where it is and stop listening, until `resume`."""
        if self.paused or self.ending:
            return
        self.paused = True
        self._gate.paused = True
        self._output_pause(True)
        owner = self._owner
        await asyncio.to_thread(presence.pause, owner.runtime.session_factory, owner.interview_id, "button")
        self._emit({"type": "state", "state": "paused"})

    async def resume(self) -> None:
        """Go on from where `pause` stopped."""
        if not self.paused:
            return
        owner = self._owner
        await asyncio.to_thread(presence.resume, owner.runtime.session_factory, owner.interview_id, "button")
        self.paused = False
        self._gate.paused = False
        self._output_pause(False)
        self._asked_still_there = False
        self._emit({"type": "state", "state": self._state})

    async def end(self) -> None:
        """End the interview now: the interviewer stops, says the guide's stop and closing lines, and the
        interview is recorded as stopped by the participant."""
        owner = self._owner
        if self.ending or owner.done or owner.driver is None:
            return
        self.ending = True
        self._gate.paused = True  # nothing more is heard as an answer
        if self.paused:
            await asyncio.to_thread(presence.resume, owner.runtime.session_factory, owner.interview_id, "ended")
            self.paused = False
            self._output_pause(False)
        try:
            self._session.interrupt(force=True)
        except RuntimeError:  # the session is not running any more
            return
        self._emit({"type": "state", "state": "thinking"})
        spoken = await owner.driver.stop("end_button")
        owner.say_spoken(spoken)

    # ------------------------------------------------------------------ to the page

    def started(self, recap: str | None) -> None:
        """The session has started: send the progress, and ``recap``, the last question, when it was heard
        whole before a reload (`presence.last_reply_heard`) and so is not said again."""
        self._emit({"type": "state", "state": self._state})
        self.progress()
        owner = self._owner
        if recap is not None and owner.driver is not None and not owner.driver.done:
            self._emit({"type": "recap", "text": recap})

    def said(self, utterance: Utterance) -> None:
        """An utterance was queued: its progress."""
        self._asked_still_there = False
        if utterance.kind != TRANSITION:
            self.progress()

    def progress(self) -> None:
        """Send where the interview is in the guide and the budget's time left."""
        driver = self._owner.driver
        if driver is None:
            return
        conductor = driver.conductor
        modules = conductor.guide.modules
        position = conductor.state.position
        seen = 0
        number = len(modules)
        for index, module in enumerate(modules):
            seen += len(module.questions)
            if position < seen:
                number = index + 1
                break
        title = modules[number - 1].title if modules else ""
        left = max(0.0, float(conductor.guide.total_seconds) - conductor.state.clock_s)
        self._emit({"type": "progress", "module": title, "module_number": number, "modules": len(modules),
                    "left_s": round(left)})

    # ------------------------------------------------------------------ the session's events

    def _on_agent_state(self, event: Any) -> None:
        state = getattr(event, "new_state", None)
        if state == "speaking":
            self._set("speaking")
        elif state == "listening" and self._state == "speaking":
            self._set("listening")
        elif state == "thinking":
            self._set("thinking")

    def _on_user_state(self, event: Any) -> None:
        state, before = getattr(event, "new_state", None), getattr(event, "old_state", None)
        if state == "speaking":
            self._asked_still_there = False
            self._set("listening")
        elif state == "listening" and before == "speaking" and self._state == "listening":
            self._set("thinking")  # the answer is over: the conductor decides (unless the participant goes on)
        elif state == "away":
            self._still_there()

    def _on_transcribed(self, event: Any) -> None:
        if getattr(event, "is_final", False) and (text := (getattr(event, "transcript", "") or "").strip()):
            self._emit({"type": "caption", "speaker": "participant", "text": text})

    def _still_there(self) -> None:
        """The participant has been silent while the interviewer listens: ask once whether they are there."""
        owner = self._owner
        if self.paused or self.ending or self._asked_still_there or owner.done or owner.driver is None:
            return
        if self._state != "listening":
            return
        line = owner.driver.conductor.guide.safety.still_there
        if line is None:
            return
        self._asked_still_there = True
        try:
            self._session.say(line, allow_interruptions=True, add_to_chat_ctx=False)
        except RuntimeError:  # the session is closing
            return
        self._emit({"type": "caption", "speaker": "interviewer", "text": line, "kind": "still_there"})

    # ------------------------------------------------------------------ helpers

    def _set(self, state: str) -> None:
        if state == self._state:
            return
        self._state = state
        if not self.paused:
            self._emit({"type": "state", "state": state})

    def _output_pause(self, pause: bool) -> None:
        output = self._owner.output
        if output is None:
            return
        if pause:
            output.pause()
        else:
            output.resume()

    def _emit(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        try:
            self._send(message)
        except Exception:  # a closed channel must not break the session
            log.exception("could not send a message to the interview page")
