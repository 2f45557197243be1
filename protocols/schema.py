"""The shape of every protocol file, as pydantic models: one model per `kind`.

The models are the executable form of `protocols/FORMAT.md`. Every mapping is closed
(``extra="forbid"``), values are not coerced (``strict=True``: ``"625"`` is not a number and
``no`` is not a string), and the loaded objects are immutable.

Checks that involve more than one value (unique ids, ``min < max``, shares that add to 1, steps
that name known instruments, ...) raise `Invalid`, which carries one or more `Problem`s, each
with the key path (relative to the model being checked) of the value at fault and a fix. The
loader turns them into `ProtocolError`s that name the file and line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from protocols.errors import describe_value

# --------------------------------------------------------------------------------------------
# Problems raised by the checks


class Problem(NamedTuple):
    """One failed check: where (a key path relative to the checked model), what, and the fix.

    `first` is the key path of an earlier value that this one repeats; the loader appends
    "(first at line N)" to the message.
    """

    at: tuple[str | int, ...]
    message: str
    fix: str | None = None
    first: tuple[str | int, ...] | None = None


class Invalid(ValueError):
    """Raised by validators; carries every `Problem` the validator found."""

    def __init__(self, *problems: Problem) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in problems))


class _Checks:
    """Collects problems so that one validator can report all of them at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(
        self, at: Sequence[str | int], message: str, fix: str | None = None, first: Sequence[str | int] | None = None
    ) -> None:
        self.problems.append(Problem(tuple(at), message, fix, tuple(first) if first is not None else None))

    def unique(self, values: Iterable[tuple[Sequence[str | int], Any]], what: str, fix: str) -> None:
        """Report every repeat of a value; `values` pairs each value with its key path."""
        first: dict[Any, Sequence[str | int]] = {}
        for at, value in values:
            if value is None:
                continue
            if value in first:
                self.add(at, f"duplicate {what} {value!r}", fix, first=first[value])
            else:
                first[value] = at

    def done(self) -> None:
        if self.problems:
            raise Invalid(*self.problems)


# --------------------------------------------------------------------------------------------
# Value types

_SLUG = re.compile(r"[a-z0-9_]+")
_GAME_ID = re.compile(r"[A-Za-z0-9_]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
_CODE = re.compile(r"[A-Z0-9]+")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise Invalid(Problem((), f"{value!r} is not a valid id", "use only lowercase letters, digits and underscores"))
    return value


def _game_id(value: str) -> str:
    if not _GAME_ID.fullmatch(value):
        raise Invalid(Problem((), f"{value!r} is not a valid game id", "use only letters, digits and underscores"))
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise Invalid(Problem((), "must not be empty", "write the text, or remove the key if it is optional"))
    return value


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(
            Problem((), f"expected a number, got {describe_value(value)}", "write a number such as 5 or 2.5, unquoted")
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(Problem((), f"expected a finite number, got {value!r}", "write an ordinary number"))
    return value


def _relative_path(value: str) -> str:
    if value.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", value):
        raise Invalid(Problem((), f"{value!r} is an absolute path", "write the path relative to the study folder"))
    return value


def _currency(value: str) -> str:
    if not _CURRENCY.fullmatch(value):
        raise Invalid(Problem((), f"{value!r} is not a currency code", "use a three-letter ISO code such as USD"))
    return value


def _code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise Invalid(
            Problem((), f"{value!r} is not a valid code", "use the code exactly as the recruiter shows it: A-Z and 0-9")
        )
    return value


Slug = Annotated[str, AfterValidator(_slug)]
GameId = Annotated[str, AfterValidator(_game_id)]
Text = Annotated[str, AfterValidator(_text)]
Number = Annotated[Any, AfterValidator(_number)]
RelativePath = Annotated[str, AfterValidator(_text), AfterValidator(_relative_path)]
Currency = Annotated[str, AfterValidator(_currency)]
Code = Annotated[str, AfterValidator(_code)]
Order = Literal["fixed", "randomized"]


class Model(BaseModel):
    """Base of every protocol model: closed, strict and immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FileHeader(Model):
    """The keys every protocol file opens with."""

    kind: str
    id: Slug
    version: Text
    title: Text
    wording: Text


# --------------------------------------------------------------------------------------------
# interview_guide


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


class FollowUpTemplates(Model):
    """Wordings for follow-ups grounded in the participant's words, by what the answer names.

    In each grounded template ``{anchor}`` stands for the participant's words, turned to the second
    person: an ``event`` is a past clause ("you moved to Ohio"), a ``situation`` a present one ("you
    work nights"), a ``feeling`` an emotion word ("lonely"), a ``person`` a name or relation ("your
    grandmother"), a ``place`` a named place ("Ohio"). ``generic`` probes take no anchor: they are
    asked when an answer names nothing to ground a follow-up on.
    """

    event: list[Text] = Field(min_length=1)
    situation: list[Text] = Field(min_length=1)
    feeling: list[Text] = Field(min_length=1)
    person: list[Text] = Field(min_length=1)
    place: list[Text] = Field(min_length=1)
    generic: list[Text] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> FollowUpTemplates:
        checks = _Checks()
        for kind in ("event", "situation", "feeling", "person", "place", "generic"):
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
        checks.done()
        return self

    def for_kind(self, kind: str) -> list[str]:
        """The templates for one anchor kind (``event``, ``situation``, ``feeling``, ``person``, ``place``)."""
        return list(getattr(self, kind))

    def all(self) -> list[str]:
        """Every template and probe."""
        return [t for kind in ("event", "situation", "feeling", "person", "place", "generic")
                for t in getattr(self, kind)]


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


# --------------------------------------------------------------------------------------------
# Responses (instrument items, experiment outcomes)


class Option(Model):
    """One answer choice: the stored code and the label shown."""

    code: int
    label: Text


def _check_options(checks: _Checks, options: Sequence[Option], key: str = "options") -> None:
    checks.unique(
        (((key, i, "code"), o.code) for i, o in enumerate(options)), "option code", "give every option its own code"
    )
    checks.unique(
        (((key, i, "label"), o.label) for i, o in enumerate(options)), "option label", "give every option its own label"
    )


class SingleChoiceResponse(Model):
    """Pick one of a list of coded options."""

    type: Literal["single_choice"]
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> SingleChoiceResponse:
        checks = _Checks()
        _check_options(checks, self.options)
        checks.done()
        return self

    def codes(self) -> list[int]:
        """The option codes, in order."""
        return [o.code for o in self.options]

    def labels(self) -> dict[int, str]:
        """Option label by code."""
        return {o.code: o.label for o in self.options}


class NumberResponse(Model):
    """A number between `min` and `max`."""

    type: Literal["number"]
    min: Number
    max: Number
    unit: Text | None = None
    integer: bool = True

    @model_validator(mode="after")
    def _check(self) -> NumberResponse:
        checks = _Checks()
        if not self.min < self.max:
            checks.add(
                ("max",), f"max ({self.max}) must be greater than min ({self.min})", "swap or correct the bounds"
            )
        if self.integer:
            for key in ("min", "max"):
                value = getattr(self, key)
                if value != int(value):
                    checks.add(
                        (key,),
                        f"{key} is {value} but the answer is a whole number (integer: true)",
                        "use a whole-number bound, or set integer: false",
                    )
        checks.done()
        return self


class LikertResponse(Model):
    """A rating on points 1..`points`; `anchors` labels some of them, at least both ends."""

    type: Literal["likert"]
    points: int = Field(ge=2)
    anchors: dict[int, Text]

    @model_validator(mode="after")
    def _check(self) -> LikertResponse:
        checks = _Checks()
        for point in self.anchors:
            if not 1 <= point <= self.points:
                checks.add(
                    ("anchors", point),
                    f"anchor {point} is outside the scale 1..{self.points}",
                    f"anchor only points 1 to {self.points}",
                )
        missing = [p for p in (1, self.points) if p not in self.anchors]
        if missing:
            checks.add(
                ("anchors",),
                f"anchors must label both ends of the scale; missing {', '.join(map(str, missing))}",
                f"add labels for 1 and {self.points}",
            )
        checks.done()
        return self

    def codes(self) -> list[int]:
        """The stored values: 1..points."""
        return list(range(1, self.points + 1))


class TextResponse(Model):
    """Free text."""

    type: Literal["text"]
    min_words: int = Field(default=0, ge=0)
    max_chars: int = Field(gt=0)

    @model_validator(mode="after")
    def _check(self) -> TextResponse:
        if self.min_words * 2 - 1 > self.max_chars:
            raise Invalid(
                Problem(
                    ("max_chars",),
                    f"max_chars ({self.max_chars}) leaves no room for {self.min_words} words",
                    "raise max_chars or lower min_words",
                )
            )
        return self


class ScaleRef(Model):
    """A reference to a response set declared under the instrument's `scales:`."""

    scale: Slug


RESPONSE_TYPES = ("single_choice", "number", "likert", "text")


def _response_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        if "scale" in value and "type" not in value:
            return "scale"
        kind = value.get("type")
        return kind if isinstance(kind, str) else None
    if isinstance(value, ScaleRef):
        return "scale"
    return getattr(value, "type", None)


_RESPONSE_ERROR = "response needs a known type"
Response = Annotated[
    Annotated[SingleChoiceResponse, Tag("single_choice")]
    | Annotated[NumberResponse, Tag("number")]
    | Annotated[LikertResponse, Tag("likert")]
    | Annotated[TextResponse, Tag("text")],
    Discriminator(_response_tag, custom_error_type="response_type", custom_error_message=_RESPONSE_ERROR),
]
ItemResponse = Annotated[
    Annotated[SingleChoiceResponse, Tag("single_choice")]
    | Annotated[NumberResponse, Tag("number")]
    | Annotated[LikertResponse, Tag("likert")]
    | Annotated[TextResponse, Tag("text")]
    | Annotated[ScaleRef, Tag("scale")],
    Discriminator(_response_tag, custom_error_type="item_response_type", custom_error_message=_RESPONSE_ERROR),
]
AnyResponse = SingleChoiceResponse | NumberResponse | LikertResponse | TextResponse


# The GSS's missing-data convention (2021+ releases code them negative): IAP, the question does not
# apply to this person (a skip by design); DK, don't know; NA, no answer (declined or refused).
IAP_CODE = -100
MISSING_CODES: dict[int, str] = {IAP_CODE: "IAP", -98: "DK", -99: "NA"}
DECLINED = "NA"


class Item(Model):
    """One question of an instrument (or one outcome of an experiment).

    ``inapplicable`` makes a conditional question's skip explicit (the GSS asks hapmar only of the
    married): the label of the answer for whom the question does not apply ("I am not married"),
    offered as the last option, coded ``IAP_CODE`` and stored as the GSS's IAP, never as an answer.
    """

    id: Slug
    source_id: Text | None = None
    text: Text
    response: ItemResponse
    source: Text | None = None
    trait: Slug | None = None
    reverse: bool = False
    inapplicable: Text | None = None


# --------------------------------------------------------------------------------------------
# instrument


class Scoring(Model):
    """How an instrument's items are scored."""

    method: Literal["mean_by_trait"]


class Instrument(FileHeader):
    """`kind: instrument` — a questionnaire: items with responses, optional shared scales and scoring."""

    kind: Literal["instrument"]
    heading: Text | None = None
    """The heading participants see over its pages (``title`` is the researchers' name for it)."""
    source: Text | None = None
    order: Order
    order_note: Text | None = None
    scales: dict[Slug, Response] = Field(default_factory=dict)
    items: list[Item] = Field(min_length=1)
    scoring: Scoring | None = None
    reference_mean_options: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Instrument:
        checks = _Checks()
        checks.unique(
            ((("items", i, "id"), item.id) for i, item in enumerate(self.items)),
            "item id",
            "give every item its own id",
        )
        checks.unique(
            ((("items", i, "source_id"), item.source_id) for i, item in enumerate(self.items)),
            "source_id",
            "each source item appears once",
        )
        for i, item in enumerate(self.items):
            if isinstance(item.response, ScaleRef) and item.response.scale not in self.scales:
                known = ", ".join(sorted(self.scales)) or "none declared"
                checks.add(
                    ("items", i, "response", "scale"),
                    f"unknown scale {item.response.scale!r}",
                    f"declare it under scales: (known: {known})",
                )
                continue
            response = self.response_for(item)
            if item.inapplicable is not None and not isinstance(response, SingleChoiceResponse):
                checks.add(("items", i, "inapplicable"),
                           f"only a single_choice item can offer an inapplicable answer, this one is {response.type}",
                           "remove inapplicable:, or make the item single_choice")
            scorable = isinstance(response, LikertResponse | NumberResponse)
            if item.reverse and not scorable:
                checks.add(
                    ("items", i, "reverse"),
                    f"only likert or number items can be reverse-keyed, this one is {response.type}",
                    "remove reverse: true",
                )
            if self.scoring is not None:
                if item.trait is None:
                    checks.add(
                        ("items", i),
                        f"item {item.id!r} has no trait, but the instrument is scored {self.scoring.method}",
                        "add trait: <name> to the item",
                    )
                if not scorable:
                    checks.add(
                        ("items", i, "response"),
                        f"a {response.type} item cannot be averaged ({self.scoring.method})",
                        "use a likert or number response, or drop scoring:",
                    )
        checks.done()
        return self

    def item(self, item_id: str) -> Item:
        """The item with this id; KeyError if there is none."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def response_for(self, item: Item | str) -> AnyResponse:
        """The item's response with any `{scale: name}` reference resolved, and its inapplicable answer added."""
        if isinstance(item, str):
            item = self.item(item)
        response = self.scales[item.response.scale] if isinstance(item.response, ScaleRef) else item.response
        if item.inapplicable is not None and isinstance(response, SingleChoiceResponse):
            extra = Option(code=IAP_CODE, label=item.inapplicable)
            return response.model_copy(update={"options": [*response.options, extra]})
        return response

    def scoring_key(self) -> dict[str, list[tuple[str, bool]]]:
        """{trait: [(item_id, reverse), ...]} for every item with a trait, in item order."""
        key: dict[str, list[tuple[str, bool]]] = {}
        for item in self.items:
            if item.trait is not None:
                key.setdefault(item.trait, []).append((item.id, item.reverse))
        return key


# --------------------------------------------------------------------------------------------
# games


class AmountDecision(Model):
    """Choose an amount from `min` to `max` in steps of `step`."""

    type: Literal["amount"]
    min: Number
    max: Number
    step: Number

    @model_validator(mode="after")
    def _check(self) -> AmountDecision:
        checks = _Checks()
        if not self.min < self.max:
            checks.add(
                ("max",), f"max ({self.max}) must be greater than min ({self.min})", "swap or correct the bounds"
            )
        if not self.step > 0:
            checks.add(("step",), f"step must be greater than 0, got {self.step}", "use a positive step such as 1")
        elif self.min < self.max:
            steps = (self.max - self.min) / self.step
            if abs(steps - round(steps)) > 1e-9:
                checks.add(
                    ("step",),
                    f"step {self.step} does not divide the range {self.min}..{self.max}",
                    "choose a step that lands exactly on max",
                )
        checks.done()
        return self

    def amounts(self) -> list[int | float]:
        """Every amount that can be chosen, from min to max."""
        count = round((self.max - self.min) / self.step)
        return [self.min + k * self.step for k in range(count + 1)]


class ChoiceDecision(Model):
    """Pick one of a list of coded options."""

    type: Literal["choice"]
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> ChoiceDecision:
        checks = _Checks()
        _check_options(checks, self.options)
        checks.done()
        return self


class Case(Model):
    """One case of a strategy-method decision."""

    id: Slug
    label: Text
    min: Number
    max: Number

    @model_validator(mode="after")
    def _check(self) -> Case:
        if not self.min < self.max:
            raise Invalid(
                Problem(
                    ("max",), f"max ({self.max}) must be greater than min ({self.min})", "swap or correct the bounds"
                )
            )
        return self


class AmountsByCaseDecision(Model):
    """Strategy method: one amount for each case."""

    type: Literal["amounts_by_case"]
    cases: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> AmountsByCaseDecision:
        checks = _Checks()
        checks.unique(
            ((("cases", i, "id"), c.id) for i, c in enumerate(self.cases)), "case id", "give every case its own id"
        )
        checks.done()
        return self


Decision = Annotated[
    Annotated[AmountDecision, Tag("amount")]
    | Annotated[ChoiceDecision, Tag("choice")]
    | Annotated[AmountsByCaseDecision, Tag("amounts_by_case")],
    Discriminator(
        lambda v: (
            (v.get("type") if isinstance(v.get("type"), str) else None)
            if isinstance(v, dict)
            else getattr(v, "type", None)
        ),
        custom_error_type="decision_type",
        custom_error_message="decision needs a known type",
    ),
]


class NoParameters(Model):
    """The rule takes no parameters: `parameters: {}` (or leave it out)."""


class TrustReceiverParameters(Model):
    """The trust game's second mover: which game the sender plays, and the amount received per case."""

    sender_game: GameId
    received: dict[Slug, Number] = Field(min_length=1)


class PrisonersDilemmaPayoffs(Model):
    """[own, other] payoff by (own choice, other's choice); c = cooperate, d = defect."""

    cc: list[Number] = Field(min_length=2, max_length=2)
    cd: list[Number] = Field(min_length=2, max_length=2)
    dc: list[Number] = Field(min_length=2, max_length=2)
    dd: list[Number] = Field(min_length=2, max_length=2)


class PrisonersDilemmaParameters(Model):
    """The prisoner's dilemma payoff table."""

    payoffs: PrisonersDilemmaPayoffs


class _GameBase(Model):
    id: GameId
    name: Text
    source: Text
    roles: list[Slug] = Field(min_length=1)
    decision_role: Slug
    group_size: int = Field(ge=2)
    endowment: Number
    multiplier: Number
    decision: Decision
    instructions: Text
    prompt: Text

    decision_type: ClassVar[str] = "amount"

    @model_validator(mode="after")
    def _check_common(self) -> _GameBase:
        checks = _Checks()
        checks.unique(((("roles", i), r) for i, r in enumerate(self.roles)), "role", "list each role once")
        if self.decision_role not in self.roles:
            checks.add(
                ("decision_role",),
                f"decision_role {self.decision_role!r} is not one of the roles ({', '.join(self.roles)})",
                "name one of the roles listed under roles:",
            )
        if self.endowment < 0:
            checks.add(("endowment",), f"endowment must not be negative, got {self.endowment}", "use 0 or more")
        if not self.multiplier > 0:
            checks.add(("multiplier",), f"multiplier must be greater than 0, got {self.multiplier}", "use 1 for none")
        if self.decision.type != self.decision_type:
            rule = getattr(self, "payoff_rule", "")
            checks.add(
                ("decision", "type"),
                f"a {rule} game takes a decision of type {self.decision_type}, not {self.decision.type}",
                f"set decision.type to {self.decision_type}",
            )
        elif isinstance(self.decision, AmountDecision) and self.decision_type == "amount":
            if self.decision.min < 0 or self.decision.max > self.endowment:
                checks.add(
                    ("decision", "max"),
                    f"the amount must lie within the endowment 0..{self.endowment}, "
                    f"not {self.decision.min}..{self.decision.max}",
                    "keep decision min and max between 0 and the endowment",
                )
        checks.problems.extend(self._rule_problems())
        checks.done()
        return self

    def _rule_problems(self) -> list[Problem]:
        return []


class DictatorGame(_GameBase):
    """The dictator splits the endowment; the recipient has no say."""

    payoff_rule: Literal["dictator"]
    parameters: NoParameters = Field(default_factory=NoParameters)


class TrustSenderGame(_GameBase):
    """The trust game's first mover sends an amount, multiplied on the way."""

    payoff_rule: Literal["trust_sender"]
    parameters: NoParameters = Field(default_factory=NoParameters)


class TrustReceiverGame(_GameBase):
    """The trust game's second mover returns part of what was received, case by case."""

    payoff_rule: Literal["trust_receiver"]
    parameters: TrustReceiverParameters
    decision_type: ClassVar[str] = "amounts_by_case"

    def _rule_problems(self) -> list[Problem]:
        if not isinstance(self.decision, AmountsByCaseDecision):
            return []
        checks = _Checks()
        received = self.parameters.received
        case_ids = [c.id for c in self.decision.cases]
        for key in received:
            if key not in case_ids:
                checks.add(
                    ("parameters", "received", key),
                    f"received names case {key!r}, which is not one of the decision's cases",
                    f"use the case ids: {', '.join(case_ids)}",
                )
        for i, case in enumerate(self.decision.cases):
            if case.id not in received:
                checks.add(
                    ("decision", "cases", i, "id"),
                    f"case {case.id!r} has no amount under parameters.received",
                    f"add {case.id}: <amount received> to parameters.received",
                )
            elif case.min < 0 or case.max > received[case.id]:
                checks.add(
                    ("decision", "cases", i, "max"),
                    f"case {case.id!r} returns {case.min}..{case.max} but only {received[case.id]} is received",
                    "keep the case's min and max between 0 and the amount received",
                )
        return checks.problems


class PublicGoodsGame(_GameBase):
    """Each group member contributes to a pool that is multiplied and shared equally."""

    payoff_rule: Literal["public_goods"]
    parameters: NoParameters = Field(default_factory=NoParameters)


class PrisonersDilemmaGame(_GameBase):
    """Cooperate or defect; the first option is cooperate (c), the second defect (d)."""

    payoff_rule: Literal["prisoners_dilemma"]
    parameters: PrisonersDilemmaParameters
    decision_type: ClassVar[str] = "choice"

    def _rule_problems(self) -> list[Problem]:
        if isinstance(self.decision, ChoiceDecision) and len(self.decision.options) != 2:
            return [
                Problem(
                    ("decision", "options"),
                    f"a prisoner's dilemma has two options, not {len(self.decision.options)}",
                    "list cooperate first and defect second",
                )
            ]
        return []


PAYOFF_RULES = ("dictator", "trust_sender", "trust_receiver", "public_goods", "prisoners_dilemma")
Game = Annotated[
    Annotated[DictatorGame, Tag("dictator")]
    | Annotated[TrustSenderGame, Tag("trust_sender")]
    | Annotated[TrustReceiverGame, Tag("trust_receiver")]
    | Annotated[PublicGoodsGame, Tag("public_goods")]
    | Annotated[PrisonersDilemmaGame, Tag("prisoners_dilemma")],
    Discriminator(
        lambda v: (
            (v.get("payoff_rule") if isinstance(v.get("payoff_rule"), str) else None)
            if isinstance(v, dict)
            else getattr(v, "payoff_rule", None)
        ),
        custom_error_type="payoff_rule",
        custom_error_message="game needs a known payoff_rule",
    ),
]
AnyGame = DictatorGame | TrustSenderGame | TrustReceiverGame | PublicGoodsGame | PrisonersDilemmaGame


class GameSet(FileHeader):
    """`kind: games` — the economic games, all paid in one currency."""

    kind: Literal["games"]
    currency: Currency
    games: list[Game] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> GameSet:
        checks = _Checks()
        checks.unique(
            ((("games", i, "id"), g.id) for i, g in enumerate(self.games)), "game id", "give every game its own id"
        )
        by_id = {g.id: g for g in self.games}
        for i, game in enumerate(self.games):
            if not isinstance(game, TrustReceiverGame):
                continue
            at = ("games", i, "parameters", "sender_game")
            sender = by_id.get(game.parameters.sender_game)
            if sender is None:
                checks.add(
                    at,
                    f"sender_game {game.parameters.sender_game!r} is not a game in this file",
                    f"name one of: {', '.join(by_id)}",
                )
            elif not isinstance(sender, TrustSenderGame):
                checks.add(
                    at,
                    f"sender_game {sender.id!r} is a {sender.payoff_rule} game, not trust_sender",
                    "name the trust game's first-mover game",
                )
            elif isinstance(sender.decision, AmountDecision):
                possible = {a * sender.multiplier for a in sender.decision.amounts() if a > 0}
                given = set(game.parameters.received.values())
                if given != possible:
                    checks.add(
                        ("games", i, "parameters", "received"),
                        f"the amounts received ({', '.join(_num(v) for v in sorted(given))}) do not match what "
                        f"{sender.id} can send times {_num(sender.multiplier)} "
                        f"({', '.join(_num(v) for v in sorted(possible))})",
                        "list one case for every amount the sender can send, except 0",
                    )
        checks.done()
        return self

    def game(self, game_id: str) -> AnyGame:
        """The game with this id; KeyError if there is none."""
        for game in self.games:
            if game.id == game_id:
                return game
        raise KeyError(game_id)


def _num(value: float) -> str:
    return f"{value:g}"


# --------------------------------------------------------------------------------------------
# experiments


class Assignment(Model):
    """How conditions are assigned: balanced blocks holding every condition equally often."""

    policy: Literal["blocked"]
    block_size: int = Field(gt=0)


class ExperimentCondition(Model):
    """One condition: its factor levels (factorial designs) and the stimulus shown."""

    id: Slug
    factors: dict[Slug, Slug] | None = None
    stimulus: Text


class Analysis(Model):
    """The test that reproduces the original finding."""

    test: Literal["chi_square", "t_test", "anova_interaction"]
    outcome: Slug
    factor: Slug | None = None
    factors: list[Slug] | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _check(self) -> Analysis:
        checks = _Checks()
        if self.test == "anova_interaction":
            if self.factors is None or len(self.factors) < 2:
                checks.add(("factors",), "anova_interaction needs factors: [a, b]", "list the two (or more) factors")
            if self.factor is not None:
                checks.add(("factor",), "anova_interaction takes factors:, not factor:", "use factors: [a, b]")
        else:
            if self.factor is None:
                checks.add((), f"{self.test} needs factor:", "add factor: condition (or a factor name)")
            if self.factors is not None:
                checks.add(("factors",), f"{self.test} takes factor:, not factors:", "use factor: condition")
        checks.done()
        return self


class Experiment(Model):
    """One between-subjects experiment: conditions, outcome items and the analysis."""

    id: Slug
    title: Text
    source: Text
    assignment: Assignment
    conditions: list[ExperimentCondition] = Field(min_length=2)
    outcomes: list[Item] = Field(min_length=1)
    analysis: Analysis

    @model_validator(mode="after")
    def _check(self) -> Experiment:
        checks = _Checks()
        checks.unique(
            ((("conditions", i, "id"), c.id) for i, c in enumerate(self.conditions)),
            "condition id",
            "give every condition its own id",
        )
        checks.unique(
            ((("outcomes", i, "id"), o.id) for i, o in enumerate(self.outcomes)),
            "outcome id",
            "give every outcome its own id",
        )
        if self.assignment.block_size % len(self.conditions):
            checks.add(
                ("assignment", "block_size"),
                f"block_size {self.assignment.block_size} cannot hold each of the "
                f"{len(self.conditions)} conditions equally often",
                f"use a multiple of {len(self.conditions)}",
            )
        for i, outcome in enumerate(self.outcomes):
            if isinstance(outcome.response, ScaleRef):
                checks.add(
                    ("outcomes", i, "response", "scale"),
                    "experiments have no scales: the response must be written out",
                    "replace {scale: ...} with the full response (type: ...)",
                )
        factor_names = self._check_factors(checks)
        self._check_analysis(checks, factor_names)
        checks.done()
        return self

    def _check_factors(self, checks: _Checks) -> list[str]:
        with_factors = [c for c in self.conditions if c.factors is not None]
        if not with_factors:
            return []
        names = list(with_factors[0].factors or {})
        for i, condition in enumerate(self.conditions):
            if condition.factors is None:
                checks.add(
                    ("conditions", i),
                    f"condition {condition.id!r} has no factors while others do",
                    f"give every condition factors: {{{', '.join(f'{n}: ...' for n in names)}}}",
                )
            elif sorted(condition.factors) != sorted(names):
                checks.add(
                    ("conditions", i, "factors"),
                    f"condition {condition.id!r} has factors {sorted(condition.factors)}, others have {sorted(names)}",
                    "name the same factors in every condition",
                )
        checks.unique(
            (
                (("conditions", i, "factors"), tuple(sorted(c.factors.items())))
                for i, c in enumerate(self.conditions)
                if c.factors is not None
            ),
            "combination of factor levels",
            "each condition needs its own combination of levels",
        )
        return names

    def _check_analysis(self, checks: _Checks, factor_names: list[str]) -> None:
        analysis = self.analysis
        outcome_ids = [o.id for o in self.outcomes]
        if analysis.outcome not in outcome_ids:
            checks.add(
                ("analysis", "outcome"),
                f"outcome {analysis.outcome!r} is not one of this experiment's outcomes",
                f"name one of: {', '.join(outcome_ids)}",
            )
        else:
            response = self.outcomes[outcome_ids.index(analysis.outcome)].response
            wants_numbers = analysis.test in ("t_test", "anova_interaction")
            if wants_numbers and not isinstance(response, LikertResponse | NumberResponse):
                checks.add(
                    ("analysis", "outcome"),
                    f"a {analysis.test} needs a likert or number outcome, {analysis.outcome!r} is "
                    f"{getattr(response, 'type', 'a scale')}",
                    "analyse a numeric outcome, or use chi_square",
                )
            if analysis.test == "chi_square" and not isinstance(response, SingleChoiceResponse):
                checks.add(
                    ("analysis", "outcome"),
                    f"a chi_square test needs a single_choice outcome, {analysis.outcome!r} is "
                    f"{getattr(response, 'type', 'a scale')}",
                    "analyse a single_choice outcome, or use t_test",
                )
        known = ["condition", *factor_names]
        if analysis.factor is not None and analysis.factor not in known:
            checks.add(
                ("analysis", "factor"),
                f"factor {analysis.factor!r} is neither 'condition' nor a factor of the conditions",
                f"use one of: {', '.join(known)}",
            )
        for j, name in enumerate(analysis.factors or []):
            if name not in factor_names:
                checks.add(
                    ("analysis", "factors", j),
                    f"factor {name!r} is not declared in the conditions' factors",
                    f"use one of: {', '.join(factor_names) or '(no factors declared)'}",
                )
        if analysis.test == "t_test" and analysis.factor in known:
            levels = self.levels(analysis.factor)
            if len(levels) != 2:
                checks.add(
                    ("analysis", "factor"),
                    f"a t_test compares two groups, {analysis.factor!r} has {len(levels)}",
                    "use a factor with two levels, or another test",
                )

    def levels(self, factor: str) -> list[str]:
        """The distinct levels of a factor (`condition` means the condition ids), in order."""
        if factor == "condition":
            return [c.id for c in self.conditions]
        return list(dict.fromkeys((c.factors or {}).get(factor, "") for c in self.conditions))


class ExperimentSet(FileHeader):
    """`kind: experiments` — the between-subjects experiments."""

    kind: Literal["experiments"]
    experiments: list[Experiment] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ExperimentSet:
        checks = _Checks()
        checks.unique(
            ((("experiments", i, "id"), e.id) for i, e in enumerate(self.experiments)),
            "experiment id",
            "give every experiment its own id",
        )
        checks.done()
        return self

    def experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id; KeyError if there is none."""
        for experiment in self.experiments:
            if experiment.id == experiment_id:
                return experiment
        raise KeyError(experiment_id)


# --------------------------------------------------------------------------------------------
# study

BUILTIN_STEPS = ("consent", "mic_check", "interview", "games", "experiments")


class Reminders(Model):
    """Reminders sent while a wave's invitation is open."""

    count: int = Field(ge=0)
    every_days: int = Field(gt=0)


class Wave(Model):
    """One visit: its steps in order; later waves open `offset_days` after wave 1 completes."""

    number: int = Field(ge=1)
    steps: list[Slug] = Field(min_length=1)
    games_order: Order = "randomized"
    experiments_order: Order = "randomized"
    offset_days: int | None = Field(default=None, ge=1)
    window_days: int | None = Field(default=None, ge=1)
    reminders: Reminders | None = None
    keep_experiment_conditions: bool = False


class Bonus(Model):
    """The performance bonus: the earnings of one game picked in advance."""

    rule: Literal["preselected_game"]
    game: GameId
    min: Number
    max: Number
    per_wave: bool

    @model_validator(mode="after")
    def _check(self) -> Bonus:
        checks = _Checks()
        if self.min < 0:
            checks.add(("min",), f"min must not be negative, got {self.min}", "use 0 or more")
        if not self.min < self.max:
            checks.add(
                ("max",), f"max ({self.max}) must be greater than min ({self.min})", "swap or correct the bounds"
            )
        checks.done()
        return self


class Payments(Model):
    """What participants are paid: a base per wave and an optional bonus."""

    currency: Currency
    base: dict[int, Number]
    bonus: Bonus | None = None

    @model_validator(mode="after")
    def _check(self) -> Payments:
        checks = _Checks()
        for wave, amount in self.base.items():
            if amount < 0:
                checks.add(("base", wave), f"the base payment for wave {wave} is negative", "use 0 or more")
        checks.done()
        return self


class QuotaCell(Model):
    """One cell of a stratum and its target share of the sample."""

    id: Slug
    label: Text
    share: Number

    @model_validator(mode="after")
    def _check(self) -> QuotaCell:
        if not 0 < self.share <= 1:
            raise Invalid(
                Problem(("share",), f"share must be above 0 and at most 1, got {self.share}", "write it as a fraction")
            )
        return self


class Stratum(Model):
    """A screening variable; its cells' shares add to 1 (within 0.01)."""

    id: Slug
    question: Text
    cells: list[QuotaCell] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> Stratum:
        checks = _Checks()
        checks.unique(
            ((("cells", i, "id"), c.id) for i, c in enumerate(self.cells)), "cell id", "give every cell its own id"
        )
        checks.unique(
            ((("cells", i, "label"), c.label) for i, c in enumerate(self.cells)),
            "cell label",
            "give every cell its own label",
        )
        total = sum(c.share for c in self.cells)
        if abs(total - 1) > 0.01:
            checks.add(
                ("cells",),
                f"the shares of stratum {self.id!r} add to {total:.4f}, not 1",
                "correct the shares so that they add to 1 (within 0.01)",
            )
        checks.done()
        return self


class Quotas(Model):
    """Recruitment target and screening strata."""

    total: int = Field(gt=0)
    strata: list[Stratum] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Quotas:
        checks = _Checks()
        checks.unique(
            ((("strata", i, "id"), s.id) for i, s in enumerate(self.strata)),
            "stratum id",
            "give every stratum its own id",
        )
        checks.done()
        return self


class ConsentVersion(Model):
    """One version of the consent document and the scopes it asks for."""

    version: Text
    file: RelativePath
    required_scopes: list[Slug] = Field(min_length=1)
    optional_scopes: list[Slug] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> ConsentVersion:
        checks = _Checks()
        scopes = [(("required_scopes", i), s) for i, s in enumerate(self.required_scopes)]
        scopes += [(("optional_scopes", i), s) for i, s in enumerate(self.optional_scopes)]
        checks.unique(scopes, "scope", "list each scope once, either required or optional")
        checks.done()
        return self


class Prolific(Model):
    """Prolific completion codes."""

    completion_code: Code
    screened_out_code: Code

    @model_validator(mode="after")
    def _check(self) -> Prolific:
        if self.completion_code == self.screened_out_code:
            raise Invalid(
                Problem(
                    ("screened_out_code",),
                    "the screened-out code equals the completion code",
                    "use the two different codes Prolific gives you",
                )
            )
        return self


class StudySpec(FileHeader):
    """`kind: study` — the study: which files it uses, its waves, payments, quotas and consent."""

    kind: Literal["study"]
    interview_guides: dict[Slug, RelativePath] = Field(default_factory=dict)
    interview_guide: Slug | None = None
    instruments: dict[Slug, RelativePath] = Field(default_factory=dict)
    games: RelativePath | None = None
    experiments: RelativePath | None = None
    waves: list[Wave] = Field(min_length=1)
    payments: Payments
    quotas: Quotas | None = None
    consent: list[ConsentVersion] = Field(min_length=1)
    prolific: Prolific | None = None

    @model_validator(mode="after")
    def _check(self) -> StudySpec:
        checks = _Checks()
        self._check_guides(checks)
        for name in self.instruments:
            if name in BUILTIN_STEPS:
                checks.add(
                    ("instruments", name),
                    f"an instrument cannot be called {name!r}: that is a built-in step",
                    "rename the instrument",
                )
        for w, wave in enumerate(self.waves):
            self._check_wave(checks, w, wave)
        checks.unique(
            ((("consent", i, "version"), c.version) for i, c in enumerate(self.consent)),
            "consent version",
            "give every consent version its own number",
        )
        numbers = [wave.number for wave in self.waves]
        for wave_number in self.payments.base:
            if wave_number not in numbers:
                checks.add(
                    ("payments", "base", wave_number),
                    f"there is no wave {wave_number}",
                    f"pay only the waves that exist: {', '.join(map(str, numbers))}",
                )
        for number in numbers:
            if number not in self.payments.base:
                checks.add(("payments", "base"), f"no base payment for wave {number}", f"add {number}: <amount>")
        if self.payments.bonus is not None and self.games is None:
            checks.add(
                ("payments", "bonus"), "a game bonus needs a games file", "add games: <file> or remove the bonus"
            )
        checks.done()
        return self

    def _check_guides(self, checks: _Checks) -> None:
        if self.interview_guide is None:
            if self.interview_guides:
                checks.add(
                    (),
                    "interview_guides are listed but interview_guide does not say which one participants get",
                    f"add interview_guide: {next(iter(self.interview_guides))}",
                )
        elif self.interview_guide not in self.interview_guides:
            checks.add(
                ("interview_guide",),
                f"interview guide {self.interview_guide!r} is not listed under interview_guides",
                f"use one of: {', '.join(self.interview_guides) or '(none listed)'}",
            )

    def _check_wave(self, checks: _Checks, w: int, wave: Wave) -> None:
        if wave.number != w + 1:
            checks.add(
                ("waves", w, "number"), f"wave {w + 1} is numbered {wave.number}", "number the waves 1, 2, 3, ..."
            )
        if w == 0:
            for key in ("offset_days", "window_days", "reminders"):
                if getattr(wave, key) is not None:
                    checks.add(("waves", w, key), f"wave 1 starts at sign-up and takes no {key}", f"remove {key}")
            if wave.keep_experiment_conditions:
                checks.add(
                    ("waves", w, "keep_experiment_conditions"),
                    "wave 1 has no earlier conditions to keep",
                    "remove keep_experiment_conditions",
                )
            if wave.steps[0] != "consent":
                checks.add(
                    ("waves", w, "steps", 0),
                    f"wave 1 must begin with consent, not {wave.steps[0]!r}",
                    "put consent first: nothing may happen before it",
                )
        else:
            for key in ("offset_days", "window_days"):
                if getattr(wave, key) is None:
                    checks.add(("waves", w), f"wave {wave.number} needs {key}", f"add {key}: <days>")
        known = [*BUILTIN_STEPS, *self.instruments]
        checks.unique(
            ((("waves", w, "steps", s), step) for s, step in enumerate(wave.steps)), "step", "list each step once"
        )
        for s, step in enumerate(wave.steps):
            at = ("waves", w, "steps", s)
            if step not in known:
                checks.add(
                    at,
                    f"unknown step {step!r}",
                    f"use an instrument listed under instruments:, or one of: {', '.join(known)}",
                )
            elif step == "interview" and self.interview_guide is None:
                checks.add(
                    at, "the interview step needs an interview guide", "add interview_guides: and interview_guide:"
                )
            elif step == "games" and self.games is None:
                checks.add(at, "the games step needs a games file", "add games: <file>")
            elif step == "experiments" and self.experiments is None:
                checks.add(at, "the experiments step needs an experiments file", "add experiments: <file>")


# --------------------------------------------------------------------------------------------
# overlay


class OverlayEntry(Model):
    """Replacement wording for one item or question."""

    text: Text | None = None
    options: dict[int, Text] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> OverlayEntry:
        if self.text is None and self.options is None:
            raise Invalid(Problem((), "nothing to replace", "give text:, options:, or both"))
        return self


class Overlay(FileHeader):
    """`kind: overlay` — replacement wording for an instrument or an interview guide."""

    kind: Literal["overlay"]
    target: Slug
    replace: dict[Slug, OverlayEntry] = Field(min_length=1)


# --------------------------------------------------------------------------------------------

MODELS: dict[str, type[FileHeader]] = {
    "interview_guide": InterviewGuide,
    "instrument": Instrument,
    "games": GameSet,
    "experiments": ExperimentSet,
    "study": StudySpec,
    "overlay": Overlay,
}
"""The model for each `kind:`."""
