"""Deciding a reply ahead: as soon as the participant's speech ends, before the end-of-turn silence is over.

The VAD hears the participant stop (``VOXBANK_VOICE_PAUSE_S`` of silence) and the last stretch of
their speech is transcribed; the turn only ends after ``VOXBANK_VOICE_END_OF_TURN_S`` (or longer,
as it adapts), because a reflective pause is not an answer's end. `Speculator` starts the
conductor on the words heard so far at that first moment, so the decision runs while the silence
is still being waited out.

Nothing a speculative decision writes reaches the database until the turn really ends with the
same words: the conductor writes to a `HeldStore`, whose saves are released then. If the
participant goes on instead, the decision is dropped and the conductor is reloaded from its
checkpoint, which never saw it (`interviewer.voice.conducting.ConductorDriver`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from livekit.agents import AgentSession, UserInputTranscribedEvent, UserStateChangedEvent

from interviewer.conductor.persistence import Store

if TYPE_CHECKING:
    from interviewer.voice.conducting import Spoken

log = logging.getLogger(__name__)


class HeldStore(Store):
    """A conductor store that holds its saves back until `release` (everything else reads the real one)."""

    def __init__(self, real: Store) -> None:
        super().__init__(real.session_factory)
        self.real = real
        self.saves: list[tuple[int, dict[str, Any]]] = []

    def save(self, interview_id: int, **fields: Any) -> None:  # type: ignore[override]
        self.saves.append((interview_id, copy.deepcopy(fields)))

    def release(self) -> None:
        """Write the held saves to the real store, in order (each its own transaction, as the conductor made them)."""
        saves, self.saves = self.saves, []
        for interview_id, fields in saves:
            self.real.save(interview_id, **fields)


@dataclass
class Speculation:
    """A reply being decided ahead for ``text``; filled in by the conductor's worker thread."""

    text: str
    seconds: float
    deadline_at: float | None
    answer_seq: int | None = None
    spoken: Spoken | None = None
    held: HeldStore | None = None
    ran: bool = False
    dropped: bool = False
    failed: bool = False
    notes: list[str] = field(default_factory=list)


def same_words(a: str, b: str) -> bool:
    """Whether two transcripts of a turn are the same words (spacing aside)."""
    return a.split() == b.split()


class Speculator:
    """Follows the session's VAD and transcripts and starts a decision ahead when the participant stops.

    ``speculate(text, seconds)`` is called with the turn's words so far (finals joined as the
    framework joins them) when a stretch's transcript arrives while the participant is silent (a
    stretch is transcribed once the VAD has heard it end); ``drop()`` when they start speaking again.
    """

    def __init__(self, session: AgentSession, *, speculate: Callable[[str, float], object],
                 drop: Callable[[], None]) -> None:
        self._session = session
        self._speculate = speculate
        self._drop = drop
        self._finals: list[str] = []
        self._started_at: float | None = None
        self._stopped_at: float | None = None
        session.on("user_input_transcribed", self._on_transcript)
        session.on("user_state_changed", self._on_state)

    def turn_ended(self) -> None:
        """The turn was handed to the conductor: the next words start a new one."""
        self._finals = []
        self._started_at = self._stopped_at = None

    def _on_state(self, event: UserStateChangedEvent) -> None:
        if event.new_state == "speaking":
            if self._started_at is None:
                self._started_at = event.created_at
            self._drop()  # the participant goes on: what was decided on fewer words is void
        elif event.old_state == "speaking":
            # the last stretch is transcribed only now that it has ended: its final starts the decision
            self._stopped_at = event.created_at

    def _on_transcript(self, event: UserInputTranscribedEvent) -> None:
        if not event.is_final or not event.transcript:
            return
        self._finals.append(event.transcript)
        self._maybe_start()

    def _maybe_start(self) -> None:
        if not self._finals or self._session.user_state == "speaking":
            return
        text = " ".join(self._finals).strip()
        started = self._started_at if self._started_at is not None else self._stopped_at
        seconds = (self._stopped_at or 0.0) - (started or 0.0)
        self._speculate(text, max(0.0, seconds))
