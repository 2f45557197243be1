"""Follow-ups grounded in the participant's words: candidates from the answer, checks, and a ranking.

After an answer the conductor wants a follow-up for, `FollowUps.choose` does this:

1. **Candidates.** The answers under the current question are read for anchors (`anchors`: the
   events, situations, feelings, people, places and things they name); each anchor fills the guide's
   templates for its kind (``followups:`` in the guide YAML, study content). The LLM's own
   follow-up, when it wrote one, is a candidate too: it may phrase a question more naturally.
2. **Checks** (any one rejects a candidate; the reason is counted):
   * ``repeat``: means the same as something the interviewer already said (similarity ≥
     `REPEAT_SIMILARITY`);
   * ``restates_question``: means the same as the scripted question (≥ `RESTATE_SIMILARITY`);
   * ``redundant``: asks for what the participant already said or the notes hold, by meaning, without
     building on it (`asks_for_known`);
   * ``off_objective``: far from the question's objective and guidance (< `OFF_OBJECTIVE_SIMILARITY`);
   * ``ungrounded``: the question names nothing the participant said under this question beyond
     the scripted question's own words: the LLM's question, or a template filled with an anchor that
     only repeats the question's words ("a great neighborhood" under "How would you describe your
     neighborhood?") or names no thing ("you had to go back");
   * ``two_questions``: asks more than one question at once (the LLM's own wording can: "What was
     that like? And how did your family take it?"): a participant answers one and the other is lost.
3. **Ranking** on signals that can be measured, highest `score` first:
   ``W_RELEVANCE × relevance + W_SALIENCE × salience + W_NOVELTY × novelty + W_RECENCY × recency``,
   where relevance is the sentence-embedding similarity to the objective and guidance, salience is the
   anchor kind's weight (`SALIENCE`: an event or a feeling above a person, a person above a place
   name; an event or situation of the latest answer naming one of the guide's ``turning_points``, a
   death or a divorce, `TURNING_POINT` more), novelty is one minus the largest similarity to what is
   already known (notes, earlier answers, follow-ups asked), and recency is 1 for what the latest
   answer said (and the LLM's own question, written after it) and 0 for an earlier answer under the
   same question: a follow-up takes up what was just said, and goes back to an earlier answer only
   when the latest names nothing to ask.
4. **Choice.** The best candidate, unless an LLM chooser is given: it is shown the best few in
   several orders (`stable_choice`) and its pick is taken only if it names the same candidate in every
   order. Gemma 3 270M, asked to pick among numbered candidates, picks the first whatever it is:
   position bias, which this test turns into "no choice".
5. Nothing passes: a generic probe from the guide's ``generic`` list, the good fallback for answers
   with nothing to ground on, under the same ``repeat`` and ``redundant`` checks (counted as
   ``generic_repeat`` and ``generic_redundant``). None passes: no follow-up.

Meaning is read with the shared sentence encoder (`interviewer.language.sentences`); words with
spaCy (`anchors`). The same definitions measure a pilot's listening (`interviewer.pilot.listening`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interviewer.conductor.anchors import (
    EVENT,
    FEELING,
    PERSON,
    PLACE,
    SITUATION,
    THING,
    anchors,
    content_lemmas,
    specific_lemmas,
    thing_lemmas,
    unnamed_lemmas,
)
from interviewer.language.sentences import SentenceEncoder
from protocols.schema import FollowUpTemplates

LLM, GENERIC = "llm", "generic"
SALIENCE = {EVENT: 1.0, FEELING: 1.0, SITUATION: 0.8, LLM: 0.8, PERSON: 0.6, PLACE: 0.3, THING: 0.2, GENERIC: 0.0}
"""How much an anchor of each kind is worth asking about: what happened and how it felt first, a thing
merely named last (still above a probe that takes up nothing the participant said)."""
TURNING_POINT = 0.5
"""Added to the salience of an event or situation that names one of the guide's turning points: with
`W_SALIENCE`, 0.3 of score, more than the relevance that separates two events of one answer ("he
worked in the film industry" against "he died of a heart attack" under the life-story question)."""
_CLAUSES = frozenset({EVENT, SITUATION})
W_RELEVANCE, W_SALIENCE, W_NOVELTY, W_RECENCY = 1.0, 0.6, 0.4, 0.6
REPEAT_SIMILARITY = 0.85
RESTATE_SIMILARITY = 0.75
REDUNDANT_SIMILARITY = 0.45
OFF_OBJECTIVE_SIMILARITY = 0.10
SHORTLIST = 3
CHOICE_ORDERS = 3
_CACHE_SIZE = 2048
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Candidate:
    """A follow-up that could be asked: its words, its kind, and the anchor it asks about."""

    text: str
    kind: str
    anchor: str | None = None
    source: str | None = None
    """The sentence the anchor is from: a question built on it does not ask for it again."""
    earlier: bool = False
    """The anchor is from an earlier answer under this question, not the latest one."""
    turning_point: bool = False
    """The anchor is an event or situation of the latest answer that names one of the guide's turning points."""


@dataclass(frozen=True)
class Scored:
    """A candidate that passed the checks, with the signals it was ranked on."""

    candidate: Candidate
    relevance: float
    salience: float
    novelty: float

    @property
    def recency(self) -> float:
        """1 for an anchor of the latest answer (or the LLM's question), 0 for one of an earlier answer."""
        return 0.0 if self.candidate.earlier else 1.0

    @property
    def score(self) -> float:
        """The ranking score (see the module docstring)."""
        return (W_RELEVANCE * self.relevance + W_SALIENCE * self.salience + W_NOVELTY * self.novelty
                + W_RECENCY * self.recency)


@dataclass(frozen=True)
class Context:
    """What a follow-up is judged against.

    ``answers``: the participant's answers under the current question, oldest first; ``known``:
    everything already known besides them (the notes, earlier answers); ``asked``: what the
    interviewer has said (scripted questions and follow-ups).
    """

    question: str
    objective: str
    answers: Sequence[str]
    known: Sequence[str] = ()
    asked: Sequence[str] = ()


@dataclass(frozen=True)
class Choice:
    """The follow-up to ask, how it was chosen, and what was rejected on the way (reason → count)."""

    text: str
    kind: str
    anchor: str | None
    how: str
    rejected: dict[str, int] = field(default_factory=dict)


Pick = Callable[[Sequence[str]], int | None]
"""Given follow-ups in an order, the index of the one a chooser prefers (None: no usable pick)."""


def stable_choice(options: Sequence[str], pick: Pick, *, orders: int = CHOICE_ORDERS) -> int | None:
    """The index (into ``options``) that ``pick`` chooses in every one of ``orders`` orders, else None.

    The orders are cyclic rotations, so each option is shown first once (with ``orders`` up to the
    number of options): a chooser that prefers a position, not a question, never agrees with itself.
    """
    if not options:
        return None
    if len(options) == 1:
        return 0
    chosen: int | None = None
    for shift in range(min(max(2, orders), len(options))):
        order = [(index + shift) % len(options) for index in range(len(options))]
        picked = pick([options[index] for index in order])
        if picked is None or not 0 <= picked < len(order):
            return None
        original = order[picked]
        if chosen is not None and original != chosen:
            return None
        chosen = original
    return chosen


def sentences(text: str) -> list[str]:
    """``text`` split into sentences (at ., ! or ? followed by a space)."""
    return [part.strip() for part in _SENTENCE_END.split(" ".join(text.split())) if len(part.strip()) > 1]


class Meaning:
    """Cosine similarities through the sentence encoder, with the vectors of texts seen before kept."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, in order."""
        missing = [text for text in dict.fromkeys(texts) if text not in self._cache]
        if missing:
            for text, vector in zip(missing, self.encoder.encode(missing), strict=True):
                self._cache[text] = vector
        for text in texts:
            self._cache.move_to_end(text)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[text] for text in texts])

    def similarity(self, text: str, others: Sequence[str]) -> np.ndarray:
        """The cosine similarity of ``text`` to each of ``others``."""
        if not others:
            return np.zeros(0, dtype=np.float32)
        vectors = self.vectors([text, *others])
        return vectors[1:] @ vectors[0]

    def closest(self, text: str, others: Sequence[str]) -> tuple[float, int]:
        """The largest similarity of ``text`` to ``others`` and its index; (0.0, -1) for none."""
        scores = self.similarity(text, others)
        if scores.size == 0:
            return 0.0, -1
        best = int(np.argmax(scores))
        return float(scores[best]), best


class Frame:
    """The words the follow-up templates themselves bring ("like", "time", "change"...): sharing one of
    them with an answer does not make a question refer to it."""

    def __init__(self, templates: FollowUpTemplates | None) -> None:
        texts = [] if templates is None else [t.replace("{anchor}", " ") for t in templates.all()]
        self.lemmas = frozenset(content_lemmas(" ".join(texts))) if texts else frozenset()
        # By lemma, as answers are read: a guide that lists "died" still hears "my dad died" and "he dies"
        words = templates.turning_points if templates is not None else []
        self.turning_points = frozenset().union(*(content_lemmas(word) or {word} for word in words))

    def own(self, question: str) -> frozenset[str]:
        """The content words of ``question`` that the templates did not bring."""
        return content_lemmas(question) - self.lemmas

    def refers_to(self, question: str, said: Sequence[str], *, scripted: str = "") -> bool:
        """True when ``question`` names a thing of ``said`` (a noun, name, number, relation or feeling beyond
        the templates' own words), or one of the guide's turning points ("you got married").

        Words of the ``scripted`` question do not count, nor verbs and adjectives of opinion: a
        participant echoes the question ("I think the economy is the most important issue"), so a
        follow-up that takes up only those ("What do you think is the most important issue for you?")
        says the scripted question again instead of building on the answer."""
        own = (self.own(question) & (thing_lemmas(question) | self.turning_points)) - content_lemmas(scripted)
        if not own or not said:
            return False
        return bool(own & content_lemmas(" ".join(said)))

    def builds_on(self, question: str, sentence: str) -> bool:
        """True when ``question`` takes up what ``sentence`` says: it repeats a name, number, relation or
        feeling of it, or at least two of its content words. "What kind of work do you do?" shares only
        "work" with "I work nights as a nurse": it asks again; "What was it like when you moved to Texas?"
        builds on "I moved to Texas"."""
        shared = self.own(question) & content_lemmas(sentence)
        return len(shared) >= 2 or bool(shared & (specific_lemmas(sentence) | unnamed_lemmas(sentence)))


_ELABORATION = re.compile(r"\b(?:like|feel|felt|feeling|mean|meant|remember|why|change[ds]?|more about|example)\b",
                          re.IGNORECASE)
"""Words of a question that asks for experience, reasons or examples rather than for a fact."""


def asks_for_known(question: str, known: Sequence[str], meaning: Meaning, frame: Frame) -> bool:
    """True when ``question`` asks for a fact that a sentence of ``known`` already gives, without building
    on it: it asks for a fact (not what something was like, meant or felt like: `_ELABORATION`), the two
    mean nearly the same (similarity ≥ `REDUNDANT_SIMILARITY`), and the question does not take up that
    sentence's particulars (`Frame.builds_on`)."""
    if not known or _ELABORATION.search(question):
        return False
    scores = meaning.similarity(question, known)
    return any(score >= REDUNDANT_SIMILARITY and not frame.builds_on(question, sentence)
               for score, sentence in zip(scores.tolist(), known, strict=True))


_FRAMING = (
    (re.compile(r"^the interviewer (?:knows|has|understands|learns)\s+", re.IGNORECASE), ""),
    (re.compile(r"\bthe participant's\b", re.IGNORECASE), "your"),
    (re.compile(r"\bthe participant\b", re.IGNORECASE), "you"),
    (re.compile(r"\b(?:they|them)\b", re.IGNORECASE), "you"),
    (re.compile(r"\btheir\b", re.IGNORECASE), "your"),
)


def objective_text(question: Any) -> str:
    """A question's objective and follow-up guidance, as one text to measure relevance against.

    The guide writes objectives about "the interviewer" and "the participant"; said to the encoder as
    is, "interviewer" makes "What do you think about this interview?" look relevant to every question.
    So the framing is taken off and the participant is addressed, as a follow-up addresses them.
    """
    text = " ".join(f"{question.objective} {question.followup_guidance or ''}".split())
    for pattern, replacement in _FRAMING:
        text = pattern.sub(replacement, text)
    return text


def relevance(question: str, context: Context, meaning: Meaning, anchor: str | None = None) -> float:
    """How near a follow-up is to what the scripted question is for: the largest similarity of the
    follow-up (or of the participant's words it asks about, ``anchor``) to the question's objective and
    guidance (`objective_text`) or to the scripted question itself.

    all-MiniLM-L6-v2 puts short questions on different topics at 0.0 to 0.1 from each other and on the
    same topic at 0.15 to 0.45, so `OFF_OBJECTIVE_SIMILARITY` only catches clear strays.
    """
    targets = [context.objective, context.question]
    texts = [question] if anchor is None else [question, anchor]
    return max(float(meaning.similarity(text, targets).max()) for text in texts)


class FollowUps:
    """Candidates, checks and ranking for one guide's follow-ups (see the module docstring)."""

    def __init__(self, templates: FollowUpTemplates | None, encoder: SentenceEncoder, *,
                 exclude: Sequence[str] = ()) -> None:
        self.templates = templates
        self.meaning = Meaning(encoder)
        self.frame = Frame(templates)
        self.exclude = frozenset(word.lower() for word in exclude)

    def generic(self) -> list[str]:
        """The guide's generic probes (none without a ``followups`` block)."""
        return list(self.templates.generic) if self.templates is not None else []

    def candidates(self, context: Context) -> list[Candidate]:
        """One candidate for each anchor of the answers under this question, latest answer first.

        Each anchor fills one of its kind's templates; which one turns with the number of things the
        interviewer has said, so the wording varies over an interview (and checking one per anchor
        keeps the live path fast). An anchor of an earlier answer fills the kind's first template,
        the one that stands alone: "that" in the others would point at the latest answer.
        """
        if self.templates is None:
            return []
        found: list[Candidate] = []
        turn = len(context.asked)
        for age, answer in enumerate(reversed(context.answers)):
            for number, anchor in enumerate(anchors(answer, exclude=self.exclude)):
                templates = self.templates.for_kind(anchor.kind)
                if not templates:
                    continue  # the guide asks about no anchors of this kind
                # A template may lean on the latest answer ("What role did {anchor} play in that?"); an
                # earlier answer's anchor takes the kind's first, which the guide writes to stand alone.
                template = templates[(turn + number) % len(templates)] if age == 0 else templates[0]
                # an earlier answer's turning point has had its follow-up: the answers after it are about it
                turning = (age == 0 and anchor.kind in _CLAUSES
                           and bool(content_lemmas(anchor.text) & self.frame.turning_points))
                found.append(Candidate(template.replace("{anchor}", anchor.text), anchor.kind, anchor.text,
                                       anchor.sentence, earlier=age > 0, turning_point=turning))
        return found

    def judge(self, candidate: Candidate, context: Context) -> Scored | str:
        """The candidate with its ranking signals, or the reason it is rejected."""
        text = candidate.text
        asked = list(context.asked)
        if max(self.meaning.similarity(text, [context.question, *sentences(context.question)]).tolist(),
               default=0.0) >= RESTATE_SIMILARITY:
            return "restates_question"
        if candidate.anchor is not None and any(candidate.anchor.lower() in line.lower() for line in asked):
            return "repeat"  # that anchor has been asked about already
        if asked and self.meaning.closest(text, asked)[0] >= REPEAT_SIMILARITY:
            return "repeat"
        said_here = [s for answer in context.answers for s in sentences(answer)]
        known = [s for s in [*context.known, *said_here] if s != candidate.source]
        if asks_for_known(text, known, self.meaning, self.frame):
            return "redundant"
        near = relevance(text, context, self.meaning, candidate.anchor)
        if near < OFF_OBJECTIVE_SIMILARITY:
            return "off_objective"
        if not self.frame.refers_to(text, list(context.answers), scripted=context.question):
            return "ungrounded"
        if text.count("?") > 1:
            return "two_questions"
        seen = [*context.known, *asked]
        novelty = 1.0 - max(0.0, self.meaning.closest(candidate.anchor or text, seen)[0]) if seen else 1.0
        salience = SALIENCE.get(candidate.kind, 0.0) + (TURNING_POINT if candidate.turning_point else 0.0)
        return Scored(candidate, relevance=near, salience=salience, novelty=novelty)

    def judge_text(self, text: str, context: Context) -> str:
        """The verdict on a follow-up written by someone else (the LLM): a rejection reason, or ``passed``."""
        verdict = self.judge(Candidate(text, LLM), context)
        return verdict if isinstance(verdict, str) else "passed"

    def rank(self, context: Context, llm_follow_up: str | None = None) -> tuple[list[Scored], dict[str, int]]:
        """The candidates that pass the checks, best first, and the rejection reasons counted."""
        pool = self.candidates(context)
        if llm_follow_up:
            pool.append(Candidate(llm_follow_up, LLM))
        passed: list[Scored] = []
        rejected: dict[str, int] = {}
        seen: set[str] = set()
        for candidate in pool:
            if candidate.text.lower() in seen:
                continue
            seen.add(candidate.text.lower())
            verdict = self.judge(candidate, context)
            if isinstance(verdict, str):
                rejected[verdict] = rejected.get(verdict, 0) + 1
            else:
                passed.append(verdict)
        passed.sort(key=lambda scored: scored.score, reverse=True)
        return passed, rejected

    def choose(self, context: Context, *, llm_follow_up: str | None = None, pick: Pick | None = None,
               probe_index: int = 0, orders: int = CHOICE_ORDERS) -> Choice | None:
        """The follow-up to ask; None when nothing passes and the guide has no generic probe left."""
        ranked, rejected = self.rank(context, llm_follow_up)
        if ranked:
            how = "ranked"
            best = ranked[0]
            shortlist = ranked[:SHORTLIST]
            if pick is not None and len(shortlist) > 1:
                index = stable_choice([s.candidate.text for s in shortlist], pick, orders=orders)
                if index is None:
                    how = "ranked_llm_unstable"
                else:
                    best, how = shortlist[index], "llm_stable"
            chosen = best.candidate
            return Choice(chosen.text, chosen.kind, chosen.anchor, how, rejected)
        probes = self.generic()
        asked = list(context.asked)
        known = [*context.known, *(s for answer in context.answers for s in sentences(answer))]
        for offset in range(len(probes)):
            probe = probes[(probe_index + offset) % len(probes)]
            if asked and self.meaning.closest(probe, asked)[0] >= REPEAT_SIMILARITY:
                reason = "repeat"
            elif asks_for_known(probe, known, self.meaning, self.frame):
                reason = "redundant"
            else:
                return Choice(probe, GENERIC, None, "generic", rejected)
            rejected[f"generic_{reason}"] = rejected.get(f"generic_{reason}", 0) + 1
        return None
