"""A simulated participant: an LLM continuing an interview transcript in a persona's voice.

The prompt is a document (the embedded model is a base model): the persona's description, the
recent conversation, and ``Participant:`` to continue. Answers are cut at the next speaker and
held near the persona's typical length. A simulated participant wants to finish the interview:
asked whether to stop or pause, it says to go on, unless it asked to stop itself (a scripted moment,
`personas.MOMENTS`, said verbatim when its question is asked), then it confirms.

A small base model falls into loops: once "I don't know." is in the transcript it is the likeliest
next answer, and a pilot of two hours ends with it said a hundred times. So the history shown is
short (the last exchange or two), and an answer that repeats an earlier one word for word, or is much
shorter than the length drawn for it (`MIN_SHARE_OF_TARGET`), is drawn again, hotter, up to
`ATTEMPTS` times.
"""

from __future__ import annotations

import random
import re

from interviewer.conductor import Reply
from interviewer.conductor.conductor import TRANSITION
from interviewer.llm.client import LLMClient, LLMError
from interviewer.pilot.personas import Persona

HISTORY_CHARS = 1200
KEEP_GOING = "No, I'm okay. Let's keep going."
CONFIRM_STOP = "Yes, please. I'd like to finish here."
SILENT_FALLBACK = "I'm not sure what to say about that."
MAX_PIECES = 6
ATTEMPTS = 3
MIN_SHARE_OF_TARGET = 0.6
"""An answer shorter than this share of the length drawn for it is drawn again. The small model often
ends an answer after a sentence or two; at 0.25 (with answers continued to 0.85 of their length) a
persona drawn at Park et al.'s 34 words an answer said 29 on average, at 0.6 (continued to the full
length) 34, over 40 answers of the same persona, with 16 answers drawn again instead of 5."""
ENOUGH_SHARE_OF_TARGET = 1.0
"""An answer is continued until it reaches this share of the length drawn for it."""
SENTENCE_SLACK_WORDS = 15
"""Words an answer may run past its length to finish the sentence it is in."""

HEAD = ("The following is the transcript of a recorded interview from a study of life in the United States. "
        "The interviewer, {name}, asks about the participant's life; the participant answers in their own words, "
        "in the first person.\n{persona}\n\n"
        "{name}: Before we start, could you tell me a little about yourself?\n"
        "Participant: {introduction}\n")


class SimulatedParticipant:
    """Answers the interviewer as one persona; ``fallbacks`` counts answers the model failed to give."""

    def __init__(self, persona: Persona, llm: LLMClient, *, interviewer_name: str = "Isabella") -> None:
        self.persona = persona
        self.llm = llm
        self.interviewer_name = interviewer_name
        self.history: list[str] = []
        self.fallbacks = 0
        self.redrawn = 0
        self.latencies_ms: list[float] = []
        self._rng = random.Random(persona.id)
        self._said: set[str] = set()
        self.said_moments: list[dict[str, str]] = []
        self._stops = ["\n\n", f"{interviewer_name}:", "Participant:", "Interviewer:"]

    def answer(self, reply: Reply) -> str:
        """The persona's answer to what the interviewer just said."""
        said = reply.text
        self.history.append(f"{self.interviewer_name}: {' '.join(said.split())}\n")
        moment = self._moment(reply)
        if moment is not None:
            text = moment["text"]
            self.said_moments.append(moment)
        # Only a safety check ends on a transition: it asks whether to go on (after a stop request: whether
        # to stop, which a persona that asked to stop confirms).
        elif reply.kind == TRANSITION and self.wants_to_stop:
            text = CONFIRM_STOP
        elif reply.kind == TRANSITION:
            text = KEEP_GOING
        else:
            text = self._generate()
        self.history.append(f"Participant: {text}\n")
        return text

    @property
    def wants_to_stop(self) -> bool:
        """True once the persona has said its scripted request to stop."""
        return any(moment["signal"] == "stop" for moment in self.said_moments)

    def _moment(self, reply: Reply) -> dict[str, str] | None:
        """The scripted moment for the question just asked, the first time it is asked."""
        if reply.kind != "scripted" or reply.question_id is None:
            return None
        for moment in self.persona.moments:
            if moment["question_id"] == reply.question_id and moment not in self.said_moments:
                return moment
        return None

    def _prompt(self) -> str:
        recent = "".join(self.history)[-HISTORY_CHARS:]
        cut = recent.find("\n")
        if len("".join(self.history)) > HISTORY_CHARS and cut >= 0:
            recent = recent[cut + 1:]
        head = HEAD.format(name=self.interviewer_name, persona=self.persona.describe(),
                           introduction=self.persona.introduction())
        return head + recent + "Participant:"

    def _generate(self) -> str:
        """One answer near the persona's usual length that it has not given before (see the module doc)."""
        target = max(8, round(self.persona.words_per_answer * self._rng.uniform(0.5, 1.5)))
        prompt = self._prompt()
        text = ""
        for attempt in range(ATTEMPTS):
            text = self._compose(prompt, target, temperature=0.8 + 0.15 * attempt)
            fresh = _normal(text) not in self._said
            if fresh and len(text.split()) >= MIN_SHARE_OF_TARGET * target:
                break
            self.redrawn += 1
        if len(text.split()) < 2:
            self.fallbacks += 1
            return SILENT_FALLBACK
        self._said.add(_normal(text))
        return text

    def _compose(self, prompt: str, target: int, *, temperature: float) -> str:
        """A line of the transcript, continued (up to `MAX_PIECES` calls) while it is much shorter than
        ``target`` words; a base model tends to stop after a sentence."""
        text = ""
        for _ in range(MAX_PIECES):
            missing = target - len(text.split())
            room = missing + SENTENCE_SLACK_WORDS
            try:
                completion = self.llm.complete_text(prompt + (f" {text}" if text else ""),
                                                    max_tokens=int(room * 1.6) + 8, temperature=temperature,
                                                    stop=self._stops, repeat_penalty=1.15)
            except LLMError:
                break
            self.latencies_ms.append(completion.latency_ms)
            piece = _tidy(completion.text, max_words=room)
            if len(piece.split()) < 2 or piece in text:
                break
            text = f"{text} {piece}".strip()
            if len(text.split()) >= target * ENOUGH_SHARE_OF_TARGET:
                break
        return _whole_sentences(text)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def _tidy(text: str, *, max_words: int) -> str:
    text = re.sub(r"\[[^\]]*\]?|\([^)]*\)", " ", text)  # stage directions such as [inaudible] or (laughs)
    words = " ".join(text.replace("\n", " ").split()).split(" ")
    return re.sub(r"\s+", " ", " ".join(words[:max_words])).strip()


def _whole_sentences(text: str) -> str:
    """``text`` ending on its last full sentence, when it was cut off mid-sentence and at least half
    of it is whole sentences: a person trails off sometimes, but not mid-phrase in every answer."""
    if not text or text[-1] in ".!?\"'":
        return text
    end = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
    return text[:end + 1] if end >= len(text) // 2 else text
