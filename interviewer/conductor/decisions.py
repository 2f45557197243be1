"""The LLM's decision after each answer: its schema, and the checks its reply must pass.

The reply is one JSON object, generated in this order::

    {"signal": "none" | "declines" | "distress" | "wants_to_stop",
     "action": "follow_up" | "move_on",
     "follow_up": "<the follow-up question it would ask>"}

Park et al.'s prompt asks first for a few sentences of assessment. It is left out here: on a small
CPU every generated token costs about a tenth of a second (more under a grammar), a voice
interviewer has about four seconds to answer, and a 270M base model's assessment adds nothing.

The follow-up is always written, even with ``move_on``: when the conductor's pacing prefers a
follow-up, that is the one asked. Whatever the model writes is *validated* before anyone hears
it (`check_follow_up`): a question, short, not a repeat, no talk of instructions or prompts, no
transcript markers, addressed to the participant (not about "the participant"), and not an echo
of the participant's words (a way injected text gets out).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

SIGNALS = ("none", "declines", "distress", "wants_to_stop")
ACTIONS = ("follow_up", "move_on")
MAX_FOLLOW_UP_CHARS = 160
MIN_FOLLOW_UP_CHARS = 8
ECHO_WORDS = 8

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "signal": {"type": "string", "enum": list(SIGNALS)},
        "action": {"type": "string", "enum": list(ACTIONS)},
        "follow_up": {"type": "string", "maxLength": MAX_FOLLOW_UP_CHARS},
    },
    "required": ["signal", "action", "follow_up"],
    "additionalProperties": False,
}

# Words that belong to talk about the machinery, never to an interview question.
_META = re.compile(
    r"\b(?:system (?:prompt|message)|(?:your|my|previous|prior|new) (?:instructions|prompt|rules|programming)|"
    r"language model|ai model|as an ai|chatbot|jailbreak|json|openai|gemma|llm)\b", re.IGNORECASE)


@lru_cache(maxsize=8)
def _third_person(interviewer_name: str) -> re.Pattern[str]:
    """A question to the participant addresses them; "the participant" (or the interviewer's own name,
    from the guide) is the notebook talking to itself."""
    name = re.escape(interviewer_name)
    return re.compile(rf"\b(?:the participant|participant's|the interviewee|the interviewer|{name})\b", re.IGNORECASE)


@lru_cache(maxsize=8)
def _markers(interviewer_name: str) -> re.Pattern[str]:
    """Speaker labels of the transcript the model continues (the guide's interviewer name among them),
    markup and links: a follow-up that holds one has run on into the page."""
    name = re.escape(interviewer_name)
    return re.compile(rf"(?:\b{name}:|\bParticipant:|\bInterviewer:|[{{}}<>\[\]]|https?://|\n)", re.IGNORECASE)


class DecisionRejected(ValueError):
    """The reply cannot be used; ``reason`` is a short code for logs and counts."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Decision:
    """A checked decision. ``follow_up`` is None when the model's follow-up failed the checks."""

    action: Literal["follow_up", "move_on"]
    signal: str
    follow_up: str | None
    rejected_follow_up: str | None = None


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9']+", " ", text.lower()).split()


def check_follow_up(text: str, *, asked: Iterable[str], last_answer: str, interviewer_name: str) -> str:
    """The follow-up, tidied, if it passes every check; raises `DecisionRejected` otherwise.
    ``interviewer_name`` is the guide's (``interviewer_name``)."""
    question = " ".join(text.split())
    if _markers(interviewer_name).search(text):
        raise DecisionRejected("follow_up_markers")
    if not MIN_FOLLOW_UP_CHARS <= len(question) <= MAX_FOLLOW_UP_CHARS:
        raise DecisionRejected("follow_up_length")
    if not question.endswith("?"):
        raise DecisionRejected("follow_up_not_a_question")
    if len(re.findall(r"[.!?]+(?:\s|$)", question)) > 3:
        raise DecisionRejected("follow_up_too_long")
    if _META.search(question):
        raise DecisionRejected("follow_up_meta")
    if _third_person(interviewer_name).search(question):
        raise DecisionRejected("follow_up_third_person")
    words = _words(question)
    if any(_words(previous) == words for previous in asked):
        raise DecisionRejected("follow_up_repeat")
    answer = " ".join(_words(last_answer))
    for start in range(max(0, len(words) - ECHO_WORDS + 1)):
        if " ".join(words[start:start + ECHO_WORDS]) in answer:
            raise DecisionRejected("follow_up_echo")
    return question


def parse_decision(data: dict[str, Any], *, asked: Iterable[str], last_answer: str,
                   interviewer_name: str) -> Decision:
    """Check a decision reply; raises `DecisionRejected` when its action or signal is unusable."""
    action, signal = data.get("action"), data.get("signal", "none")
    if action not in ACTIONS:
        raise DecisionRejected("action_missing")
    if signal not in SIGNALS:
        signal = "none"
    raw = data.get("follow_up")
    if isinstance(raw, str):
        # A base model often writes its question, then runs on into the page ("\nObjective: ...",
        # "\nParticipant: ..."): only the first line is the question.
        raw = raw.strip().split("\n", 1)[0]
    follow_up: str | None = None
    rejected: str | None = None
    if isinstance(raw, str) and raw.strip():
        try:
            follow_up = check_follow_up(raw, asked=list(asked), last_answer=last_answer,
                                        interviewer_name=interviewer_name)
        except DecisionRejected as error:
            rejected = error.reason
    elif action == "follow_up":
        rejected = "follow_up_empty"
    return Decision(action=action, signal=signal, follow_up=follow_up, rejected_follow_up=rejected)
