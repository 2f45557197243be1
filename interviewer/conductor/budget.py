"""Time: how long speech takes, what each question may still spend, and when to move on.

The clock is the interview's own timeline: the participant's speaking time (as measured, or
estimated from words) and the interviewer's turns, estimated from their words at
`SPEAKING_RATE_WPS`. LLM thinking time is not counted: the guide's seconds are for talk.

The arithmetic, for question *q* with allotment *a_q* (its ``seconds`` in the guide):

* **carry** is the time left over so far: the sum of ``a − used`` over the questions already
  closed (a skipped question leaves its whole allotment), minus the untimed intro and closing,
  which also take time out of the guide's total. Positive: ahead of schedule.
* **budget** of *q* = ``a_q + carry × a_q / R``, where *R* is the allotment of *q* and every
  question after it. Leftover time is spread over what remains in proportion to each question's
  allotment; an overrun shrinks what remains the same way. The last question gets all the carry,
  so the interview as a whole lands on the guide's total.
* **time is up** when less than half an exchange remains (``left < exchange / 2``): one more
  follow-up would overshoot by more than it fills. An *exchange* is an interviewer turn and the
  answer to it; its expected length is the running mean of this interview (30 s before any).
* **pacing**: the LLM's "move on" is honoured when the question has had its time's worth: at
  most half its budget, or about two exchanges, is left (so a factual question answered in a
  word moves on, and a life story answered in a sentence does not), and moving on would not
  leave later questions to stretch by more than `MAX_STRETCH` (25 %) of their allotment (on the
  last question: would leave less than half an exchange unspent). Otherwise the conductor
  prefers a follow-up: ahead of schedule, it asks more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

SPEAKING_RATE_WPS = 2.5
"""Words per second of speech: 150 words a minute, a conversational rate and that of TTS voices."""

END_OF_TURN_SILENCE_S = 4.0
"""Silence that ends a participant's turn (Park et al.: more than 4 s); added to estimated turns."""

DEFAULT_EXCHANGE_S = 30.0
"""Expected length of one exchange before the interview has measured any."""

MAX_STRETCH = 0.25
"""How far (as a fraction of their allotment) later questions may be stretched by leftover time."""

MOVE_ON_SHARE = 0.5
MOVE_ON_EXCHANGES = 2
"""The LLM's "move on" is honoured once at most half the budget, or about two exchanges, is left."""

_WORD = re.compile(r"\S+")


def word_count(text: str) -> int:
    """The number of words in ``text``."""
    return len(_WORD.findall(text))


def speaking_seconds(text: str) -> float:
    """How long ``text`` takes to say at `SPEAKING_RATE_WPS`."""
    return round(word_count(text) / SPEAKING_RATE_WPS, 3)


def estimated_turn_seconds(text: str) -> float:
    """A participant turn's length when only its words are known: speech plus the closing silence."""
    return round(speaking_seconds(text) + END_OF_TURN_SILENCE_S, 3)


@dataclass(frozen=True)
class Pace:
    """Where question *q* stands: its budget, what it used, what is left, and the carry."""

    allotment_s: float
    budget_s: float
    used_s: float
    carry_s: float
    later_allotment_s: float

    @property
    def left_s(self) -> float:
        """Seconds the question may still spend (negative when over budget)."""
        return self.budget_s - self.used_s

    @property
    def carry_after_s(self) -> float:
        """The carry if the conductor moved on now."""
        return self.carry_s + self.allotment_s - self.used_s

    def time_is_up(self, exchange_s: float) -> bool:
        """True when less than half an exchange is left."""
        return self.left_s < exchange_s / 2

    def may_move_on(self, exchange_s: float) -> bool:
        """True when the question has had most of its time (or what is left is about two exchanges)
        and moving on keeps later questions within `MAX_STRETCH` of their allotment."""
        if self.left_s > max(MOVE_ON_EXCHANGES * exchange_s, MOVE_ON_SHARE * self.budget_s):
            return False
        if self.later_allotment_s <= 0:
            return self.carry_after_s < exchange_s / 2
        return self.carry_after_s <= MAX_STRETCH * self.later_allotment_s


def pace(allotments: Sequence[float], position: int, used_s: float, carry_s: float) -> Pace:
    """The `Pace` of the question at ``position`` among the guide's question ``allotments``."""
    allotment = float(allotments[position])
    remaining = float(sum(allotments[position:]))
    share = carry_s * allotment / remaining if remaining > 0 else carry_s
    return Pace(allotment_s=allotment, budget_s=allotment + share, used_s=used_s, carry_s=carry_s,
                later_allotment_s=remaining - allotment)


def mean_exchange_s(total_s: float, count: int) -> float:
    """The running mean length of an exchange, `DEFAULT_EXCHANGE_S` before any."""
    return total_s / count if count else DEFAULT_EXCHANGE_S
