"""The simulated clock: a pilot's time is speaking time, estimated from word counts.

The interviewer's turns take ``words / SPEAKING_RATE_WPS`` (the conductor times them itself). A
simulated answer takes `PARTICIPANT_SECONDS_PER_WORD`, calibrated on Park et al. 2024's interviews:
about two hours held 5,373 interviewer words and 6,491 participant words. The interviewer's words at
the TTS rate take about 2,150 s; the other 5,050 s are the participants' (their speech with its
pauses, hesitations and the silence that ends a turn), 0.78 s a word, about 77 words a minute. A
plain speaking rate (150 words a minute plus a 4 s end-of-turn silence) would make a simulated
participant talk twice as fast as Park's, and the conductor would fill the time with follow-ups.

No wall-clock time is counted: a pilot on a slow CPU lasts as long, in simulated seconds, as one on
a fast GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from interviewer.conductor import Reply
from interviewer.conductor.budget import SPEAKING_RATE_WPS, word_count
from interviewer.pilot.personas import PARK_WORDS_PER_INTERVIEW

PARK_INTERVIEW_S = 7200.0
PARK_INTERVIEWER_WORDS = 5372.59
"""Park et al. 2024: a two-hour interview, and the interviewer's words in it (mean)."""

PARTICIPANT_SECONDS_PER_WORD = round(
    (PARK_INTERVIEW_S - PARK_INTERVIEWER_WORDS / SPEAKING_RATE_WPS) / PARK_WORDS_PER_INTERVIEW, 3)
"""Seconds of the interview a participant's word takes, pauses and turn-ending silence included."""


@dataclass
class SimulatedClock:
    """Seconds spoken so far by each side."""

    interviewer_s: float = 0.0
    participant_s: float = 0.0

    def heard(self, reply: Reply) -> None:
        """Advance past what the interviewer said."""
        self.interviewer_s += sum(u.end_s - u.start_s for u in reply.utterances)

    def answer_seconds(self, text: str) -> float:
        """How long a simulated answer takes at Park's participants' pace; the clock advances by it."""
        seconds = round(max(1, word_count(text)) * PARTICIPANT_SECONDS_PER_WORD, 3)
        self.participant_s += seconds
        return seconds
