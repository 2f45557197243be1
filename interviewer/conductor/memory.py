"""What the interviewer remembers: reflection notes and a bounded window of recent transcript.

Park et al.'s interviewer never sees the whole transcript: each prompt holds the accumulated
notes (short key → value facts) and only the most recent ~5,000 characters of conversation.
Here both are bounded, so a prompt's size is flat however long the interview runs:

* `Notes`: one value per condition note the guide uses (``yes``/``no``/... or ``unknown``), plus
  at most `MAX_FACTS` facts (key ≤ 40 characters, value ≤ 60); the oldest fact goes first.
* `Window`: the transcript from an anchor turn on. When it grows past `WINDOW_MAX_CHARS`, the
  anchor jumps forward to the first turn that leaves at most `WINDOW_MIN_CHARS`. Between jumps
  the window only grows at its end, so an LLM server's prefix cache can reuse it.

A condition note changes only on evidence: the reflection must quote the participant's words,
the quote must really be in what the participant said (see `evidence_holds`), and, where the
conductor gives a judge of meaning (``bears_on``), the quote must be about the note at all: a small
model quotes a real sentence that says nothing of it ("I've been saving up for a car" as the
evidence that someone lives alone), and a wrong value skips questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from protocols import InterviewGuide

WINDOW_MAX_CHARS = 5000
WINDOW_MIN_CHARS = 3000
REFLECT_EVERY_CHARS = 2500
MAX_FACTS = 20
MAX_KEY_CHARS = 40
MAX_VALUE_CHARS = 60
UNKNOWN = "unknown"
INTERVIEWER = "interviewer"
PARTICIPANT = "participant"


def condition_notes(guide: InterviewGuide) -> dict[str, tuple[str, list[str]]]:
    """Each condition note the guide uses: its description and the values it can take."""
    notes: dict[str, tuple[str, list[str]]] = {}
    for question in guide.questions():
        condition = question.condition
        if condition is None:
            continue
        description, values = notes.get(condition.note, (condition.description, ["yes", "no"]))
        values = [*values, *(v for v in condition.skip_when if v not in values)]
        notes[condition.note] = (description, values)
    return notes


def _clean(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:MAX_KEY_CHARS]


@dataclass
class Notes:
    """Reflection notes: condition values (``unknown`` until known) and a bounded list of facts."""

    conditions: dict[str, str]
    facts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_guide(cls, guide: InterviewGuide, saved: dict[str, str] | None = None) -> Notes:
        """Empty notes for ``guide``, or the ``saved`` ones (a checkpoint's ``notes``)."""
        notes = cls(conditions=dict.fromkeys(condition_notes(guide), UNKNOWN))
        for key, value in (saved or {}).items():
            if key in notes.conditions:
                notes.conditions[key] = value
            else:
                notes.facts[key] = value
        return notes

    def as_dict(self) -> dict[str, str]:
        """Conditions first, then facts, oldest first: the checkpoint's ``notes``."""
        return {**self.conditions, **{k: v for k, v in self.facts.items() if k not in self.conditions}}

    def set_condition(self, note: str, value: str) -> None:
        """Record a condition value; ``unknown`` never overwrites what is known."""
        if note in self.conditions and value != UNKNOWN:
            self.conditions[note] = value

    def add_facts(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Add or update facts, keeping at most `MAX_FACTS` (the oldest are dropped)."""
        for raw_key, raw_value in pairs:
            key, value = _key(raw_key), _clean(raw_value, MAX_VALUE_CHARS)
            if not key or not value or key in self.conditions:
                continue
            self.facts.pop(key, None)
            self.facts[key] = value
        while len(self.facts) > MAX_FACTS:
            self.facts.pop(next(iter(self.facts)))

    def render(self) -> str:
        """The notes as prompt lines (``- key: value``); conditions still unknown are left out."""
        lines = [f"- {key}: {value}" for key, value in self.conditions.items() if value != UNKNOWN]
        lines += [f"- {key}: {value}" for key, value in self.facts.items()]
        return "\n".join(lines) if lines else "- (nothing yet)"


@dataclass(frozen=True)
class Line:
    """One turn as the prompts see it."""

    seq: int
    speaker: str
    text: str


def render_line(line: Line, interviewer_name: str) -> str:
    """``Name: text`` on one line; participant text cannot start a line of its own."""
    who = interviewer_name if line.speaker == INTERVIEWER else "Participant"
    return f"{who}: {_clean(line.text, WINDOW_MAX_CHARS)}\n"


@dataclass
class Window:
    """The recent transcript: the turns from ``start_seq`` on, at most `WINDOW_MAX_CHARS` long."""

    interviewer_name: str
    start_seq: int = 0
    lines: list[Line] = field(default_factory=list)

    def add(self, line: Line) -> None:
        """Append a turn, moving the anchor forward when the window grows too long."""
        self.lines.append(line)
        rendered = [render_line(each, self.interviewer_name) for each in self.lines]
        if sum(map(len, rendered)) <= WINDOW_MAX_CHARS:
            return
        total = sum(map(len, rendered))
        keep_from = len(self.lines) - 1
        for index, text in enumerate(rendered):
            if total <= WINDOW_MIN_CHARS:
                keep_from = index
                break
            total -= len(text)
        self.lines = self.lines[keep_from:]
        self.start_seq = self.lines[0].seq

    def text(self) -> str:
        """The window as prompt text, never more than `WINDOW_MAX_CHARS` characters."""
        rendered = "".join(render_line(each, self.interviewer_name) for each in self.lines)
        return rendered[-WINDOW_MAX_CHARS:]

    def participant_words(self) -> str:
        """Everything the participant says inside the window, normalised for quote checks."""
        return _normalise(" ".join(line.text for line in self.lines if line.speaker == PARTICIPANT))


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9']+", " ", text.lower()).split())


def evidence_holds(evidence: str, participant_words: str, min_chars: int = 8) -> bool:
    """True when ``evidence`` quotes at least ``min_chars`` characters of what the participant said."""
    quote = _normalise(evidence)
    return len(quote) >= min_chars and quote in participant_words


def apply_reflection(notes: Notes, reply: dict[str, object], participant_words: str,
                     allowed: Mapping[str, Sequence[str]], ignore_values: Sequence[str] = (),
                     supports: Callable[[str, str, str], bool] | None = None) -> list[str]:
    """Merge a reflection reply into ``notes``; returns the condition notes that changed.

    A condition value other than ``unknown`` is kept only if its evidence quotes the participant
    and, given ``supports(note, value, evidence)``, that judge finds the quote supports the value;
    facts whose value is one of ``ignore_values`` (the prompt's own examples, copied) are dropped;
    malformed parts of the reply are ignored.
    """
    changed: list[str] = []
    conditions = reply.get("conditions")
    if isinstance(conditions, dict):
        for note, entry in conditions.items():
            if note not in notes.conditions or not isinstance(entry, dict):
                continue
            value, evidence = entry.get("value"), entry.get("evidence", "")
            if not isinstance(value, str) or value not in allowed.get(note, ()) or value == UNKNOWN:
                continue
            if not isinstance(evidence, str) or not evidence_holds(evidence, participant_words):
                continue
            if supports is not None and not supports(note, value, evidence):
                continue
            if notes.conditions[note] != value:
                notes.set_condition(note, value)
                changed.append(note)
    facts = reply.get("facts")
    if isinstance(facts, list):
        pairs = [(str(item.get("key", "")), str(item.get("value", ""))) for item in facts if isinstance(item, dict)]
        notes.add_facts((key, value) for key, value in pairs if value not in ignore_values)
    return changed


def reflection_schema(checks: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """The JSON schema of a reflection reply: each check's value and evidence, then a few new facts."""
    condition_properties = {
        note: {"type": "object",
               "properties": {"value": {"type": "string", "enum": [*values, UNKNOWN]},
                              "evidence": {"type": "string", "maxLength": 80}},
               "required": ["value", "evidence"], "additionalProperties": False}
        for note, values in checks.items()
    }
    fact = {"type": "object",
            "properties": {"key": {"type": "string", "maxLength": MAX_KEY_CHARS},
                           "value": {"type": "string", "maxLength": MAX_VALUE_CHARS}},
            "required": ["key", "value"], "additionalProperties": False}
    return {"type": "object",
            "properties": {"conditions": {"type": "object", "properties": condition_properties,
                                          "required": list(checks), "additionalProperties": False},
                           "facts": {"type": "array", "items": fact, "maxItems": 2}},
            "required": ["conditions", "facts"], "additionalProperties": False}
