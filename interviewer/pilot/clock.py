"""The simulated clock: a pilot's time is speaking time, estimated from word counts.

The interviewer's turns take ``words / SPEAKING_RATE_WPS`` (the conductor times them itself);
a simulated answer takes the same rate plus the 4-second silence that ends a participant's turn
(`interviewer.conductor.budget.END_OF_TURN_SILENCE_S`). No wall-clock time is counted: a pilot
on a slow CPU lasts as long, in simulated seconds, as one on a fast GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from interviewer.conductor import Reply
from interviewer.conductor.budget import estimated_turn_seconds


@dataclass
class SimulatedClock:
    """Seconds spoken so far by each side."""

    interviewer_s: float = 0.0
    participant_s: float = 0.0

    def heard(self, reply: Reply) -> None:
        """Advance past what the interviewer said."""
        self.interviewer_s += sum(u.end_s - u.start_s for u in reply.utterances)

    def answer_seconds(self, text: str) -> float:
        """How long a simulated answer takes; the clock advances by it."""
        seconds = estimated_turn_seconds(text)
        self.participant_s += seconds
        return seconds
