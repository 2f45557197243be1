"""The ``interview_guide`` file: modules of questions, follow-up templates, safety wording.

Part of ``protocols.schema`` (one module per file kind); see its docstring for the conventions.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from protocols.schema.base import FileHeader, Model, Slug, Text, _Checks


class Condition(Model):
    """When to skip a question, judged from the interviewer's reflection notes."""

    note: Slug
    description: Text
    skip_when: list[Text] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Condition:
        checks = _Checks()
        checks.unique(
            ((("skip_when", i), v) for i, v in enumerate(self.skip_when)),
            "skip_when value",
            "list each value once",
        )
        checks.done()
        return self


class ScriptText(Model):
    """Text the interviewer reads verbatim, untimed (the intro and the closing)."""

    text: Text


class SafetyWording(Model):
    """The interviewer's fixed lines for safety signals: read verbatim, never generated.

    ``distress`` ends by asking whether to keep going (a "no" ends the interview); ``severe`` names
    crisis help and ends by asking whether to stop (a "yes" ends it); ``injection`` leads into the
    current question, asked again.
    """

    distress: Text
    severe: Text
    stop_confirm: Text
    stop: Text
    refusal: Text
    injection: Text
    resume: Text
    still_there: Text | None = None
    """Said when the participant has been silent for a while (a muted microphone too); None: nothing is said."""


class Question(Model):
    """One scripted question and its time allotment."""

    id: Slug
    source_row: int | None = Field(default=None, ge=0)
    text: Text
    seconds: int = Field(gt=0)
    objective: Text
    followup_guidance: Text | None = None
    sensitive: bool = False
    condition: Condition | None = None


_PLACEHOLDER = "{anchor}"
_BRACES = re.compile(r"[{}]")
_ONE_WORD = re.compile(r"[a-z]+")
TEMPLATE_KINDS = ("event", "situation", "feeling", "person", "place", "thing", "generic")
"""The follow-up template lists, grounded kinds first."""


class FollowUpTemplates(Model):
    """Wordings for follow-ups grounded in the participant's words, by what the answer names.

    In each grounded template ``{anchor}`` stands for the participant's words, turned to the second
    person: an ``event`` is a past clause ("you moved to Ohio"), a ``situation`` a present one ("you
    work nights"), a ``feeling`` an emotion word ("lonely"), a ``person`` a name or relation ("your
    grandmother"), a ``place`` a named place ("Ohio"), a ``thing`` any other thing the answer names
    ("the night shift", "a criminal case"; optional: without templates, things are not asked about).
    ``generic`` probes take no anchor: they are asked when an answer names nothing to ground a
    follow-up on. A kind's first template stands alone: an anchor from an earlier answer under the
    question fills only it, since the others may point at the latest answer ("What role did {anchor}
    play in that?").
    """

    event: list[Text] = Field(min_length=1)
    situation: list[Text] = Field(min_length=1)
    feeling: list[Text] = Field(min_length=1)
    person: list[Text] = Field(min_length=1)
    place: list[Text] = Field(min_length=1)
    thing: list[Text] = Field(default_factory=list)
    generic: list[Text] = Field(min_length=1)
    max_per_question: int = Field(default=3, ge=0)
    """The most follow-ups one question gets, however much of its time is left: a question whose
    answers give nothing more to ask about moves on and leaves its time to later questions, instead
    of filling it with probes (Park et al. 2024: about 0.8 follow-ups a scripted question)."""
    generic_per_question: int = Field(default=1, ge=0)
    """The most generic probes one question gets; past it, an answer with nothing to ground a
    follow-up on moves the interview on."""
    min_question_seconds: int = Field(default=30, ge=0)
    """A question allotted fewer seconds gets no follow-up: it asks for a fact ("How often are you
    paid?") and its allotment is for one answer, however far ahead of schedule the interview is."""
    turning_points: list[str] = Field(default_factory=list)
    """Words (lower-case lemmas: "die", "divorce", "diagnose") of the life events the guide asks about
    before other events of an answer: "my dad worked in the film industry, but he died" asks about the
    death, not the job. Empty: every event weighs the same."""

    @model_validator(mode="after")
    def _check(self) -> FollowUpTemplates:
        checks = _Checks()
        for kind in TEMPLATE_KINDS:
            for index, template in enumerate(getattr(self, kind)):
                at = (kind, index)
                if not template.rstrip().endswith("?"):
                    checks.add(at, f"follow-up template {template!r} is not a question",
                               "end every follow-up template with a question mark")
                holes = len(_BRACES.findall(template.replace(_PLACEHOLDER, "")))
                if kind == "generic" and (_PLACEHOLDER in template or holes):
                    checks.add(at, f"generic probe {template!r} has a placeholder",
                               "generic probes are asked as written: remove the braces")
                elif kind != "generic" and (template.count(_PLACEHOLDER) != 1 or holes):
                    checks.add(at, f"follow-up template {template!r} must hold {_PLACEHOLDER} exactly once",
                               f"write {_PLACEHOLDER} where the participant's words go, and no other braces")
            checks.unique(((((kind, i)), t) for i, t in enumerate(getattr(self, kind))), "follow-up template",
                          "list each template once")
        for index, word in enumerate(self.turning_points):
            if not _ONE_WORD.fullmatch(word):
                checks.add(("turning_points", index), f"turning point {word!r} is not one lower-case word",
                           'list single words ("die" or "died", not "passed away")')
        checks.unique(((("turning_points", i), w) for i, w in enumerate(self.turning_points)), "turning point",
                      "list each word once")
        checks.done()
        return self

    def for_kind(self, kind: str) -> list[str]:
        """The templates for one anchor kind (``event``, ``situation``, ``feeling``, ``person``, ``place``,
        ``thing``)."""
        return list(getattr(self, kind))

    def all(self) -> list[str]:
        """Every template and probe."""
        return [t for kind in TEMPLATE_KINDS for t in getattr(self, kind)]


class Module(Model):
    """A run of questions on one topic."""

    id: Slug
    title: Text
    objective: Text
    questions: list[Question] = Field(min_length=1)

    @property
    def seconds(self) -> int:
        """The module's total time allotment."""
        return sum(q.seconds for q in self.questions)


class InterviewGuide(FileHeader):
    """`kind: interview_guide` — the scripted interview: intro, timed questions in modules, closing."""

    kind: Literal["interview_guide"]
    interviewer_name: Text
    intro: ScriptText
    closing: ScriptText
    safety: SafetyWording
    modules: list[Module] = Field(min_length=1)
    followups: FollowUpTemplates | None = None
    acknowledgements: list[Text] = Field(default_factory=list)
    """Short, neutral words ("I see.") the voice interviewer may say at once when its reply takes longer."""

    @model_validator(mode="after")
    def _check(self) -> InterviewGuide:
        checks = _Checks()
        checks.unique(
            ((("modules", m, "id"), mod.id) for m, mod in enumerate(self.modules)),
            "module id",
            "give each module its own id",
        )
        located = [(m, q, question) for m, mod in enumerate(self.modules) for q, question in enumerate(mod.questions)]
        checks.unique(
            ((("modules", m, "questions", q, "id"), question.id) for m, q, question in located),
            "question id",
            "question ids must be unique across the whole guide",
        )
        checks.unique(
            ((("modules", m, "questions", q, "source_row"), question.source_row) for m, q, question in located),
            "source_row",
            "each source row belongs to one question",
        )
        checks.done()
        return self

    def questions(self) -> list[Question]:
        """Every timed question, in interview order."""
        return [q for module in self.modules for q in module.questions]

    def question(self, question_id: str) -> Question:
        """The question with this id; KeyError if there is none."""
        for q in self.questions():
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    @property
    def total_seconds(self) -> int:
        """The sum of every question's time allotment (the intro and closing are untimed)."""
        return sum(q.seconds for q in self.questions())
