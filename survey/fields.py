"""One answer field per item or game decision: how it is shown, and how a submitted value is checked.

A `Field` is built from the protocol (an instrument item, an experiment outcome, a game decision),
so the protocol entry drives the form, the validation and the stored value alike. `parse_answers`
reads a submitted form against the page's fields:

- anything a browser showing our page could not have sent (an unknown field, a repeated field, a
  choice that is not one of the options) raises `TamperedForm`: nothing is stored;
- an answer a person could get wrong (a number out of range, too few words) becomes a field error
  and the page is shown again with what they entered;
- an item left blank is a skip: allowed once the participant has confirmed it (consent says they
  may decline any question), except for fields marked ``required`` (game decisions).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from protocols import Item
from protocols.schema import (
    AmountDecision,
    AmountsByCaseDecision,
    AnyGame,
    AnyResponse,
    ChoiceDecision,
    LikertResponse,
    NumberResponse,
    SingleChoiceResponse,
    TextResponse,
)
from survey.errors import TamperedForm

ANSWER_PREFIX = "a."
SKIP_MESSAGE = "You left this unanswered. Answer it, or continue without answering."
Value = int | float | str


@dataclass(frozen=True)
class Option:
    """One choice: the stored value and the label shown."""

    value: int | float
    label: str

    @property
    def form_value(self) -> str:
        """The value as the form control sends it."""
        return _render(self.value)


@dataclass(frozen=True)
class Field:
    """One answer on a page. ``name`` is the item id (or decision key); the form key is ``a.<name>``."""

    name: str
    text: str
    kind: Literal["choice", "number", "text"]
    options: tuple[Option, ...] = ()
    layout: Literal["list", "scale"] = "list"
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = True
    unit: str | None = None
    min_words: int = 0
    max_chars: int | None = None
    required: bool = False
    scale: str | None = None
    order: int = 0

    @property
    def form_key(self) -> str:
        """The name of the form control."""
        return ANSWER_PREFIX + self.name


def item_field(item: Item, response: AnyResponse, *, order: int = 0, scale: str | None = None) -> Field:
    """The field for an instrument item or experiment outcome."""
    if isinstance(response, SingleChoiceResponse):
        options = tuple(Option(o.code, o.label) for o in response.options)
        return Field(item.id, item.text, "choice", options, scale=scale or _options_key(options), order=order)
    if isinstance(response, LikertResponse):
        options = tuple(Option(p, response.anchors.get(p, str(p))) for p in response.codes())
        return Field(item.id, item.text, "choice", options, layout="scale",
                     scale=scale or _options_key(options), order=order)
    if isinstance(response, NumberResponse):
        return Field(item.id, item.text, "number", minimum=float(response.min), maximum=float(response.max),
                     integer=response.integer, unit=response.unit, order=order)
    if isinstance(response, TextResponse):
        return Field(item.id, item.text, "text", min_words=response.min_words, max_chars=response.max_chars,
                     order=order)
    raise TypeError(f"no field for response {response!r}")


def game_fields(game: AnyGame) -> list[Field]:
    """The fields of a game decision; every one is required (partners' payoffs depend on it)."""
    decision = game.decision
    if isinstance(decision, AmountDecision):
        options = tuple(Option(_plain(a), _money(a)) for a in decision.amounts())
        return [Field("amount", game.prompt, "choice", options, layout="scale", required=True)]
    if isinstance(decision, ChoiceDecision):
        options = tuple(Option(o.code, o.label) for o in decision.options)
        return [Field("choice", game.prompt, "choice", options, required=True)]
    if isinstance(decision, AmountsByCaseDecision):
        fields = []
        for case in decision.cases:
            amounts = range(int(math.ceil(case.min)), int(math.floor(case.max)) + 1)
            options = tuple(Option(a, _money(a)) for a in amounts)
            fields.append(Field(case.id, case.label, "choice", options, layout="scale", required=True))
        return fields
    raise TypeError(f"no fields for decision {decision!r}")


def _plain(value: int | float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _money(value: int | float) -> str:
    return f"${_plain(value)}" if float(value).is_integer() else f"${value:.2f}"


def _options_key(options: Iterable[Option]) -> str:
    return "|".join(f"{o.value}={o.label}" for o in options)


@dataclass
class ParsedAnswers:
    """What a submitted page holds: a value (or None, a skip) per field, and the errors to show."""

    values: dict[str, Value | None]
    raw: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def blank(self) -> list[str]:
        """The fields left blank, in page order."""
        return [name for name, raw in self.raw.items() if raw == ""]

    @property
    def skipped(self) -> list[str]:
        """The fields left blank and accepted as skips."""
        return [name for name in self.blank if name not in self.errors]


FormData = Mapping[str, Sequence[str]]


def parse_answers(fields: Sequence[Field], form: FormData, *, reserved: Iterable[str] = (),
                  skips_confirmed: bool = False) -> ParsedAnswers:
    """Check a submitted form against the page's fields (see the module docstring for the rules)."""
    by_key = {f.form_key: f for f in fields}
    allowed = set(reserved)
    for key in form:
        if key not in by_key and key not in allowed:
            raise TamperedForm(
                f"The form holds a field this page does not have ({_short(key)}). "
                "Please reload the page and answer it again; nothing was saved."
            )
    parsed = ParsedAnswers(values={}, raw={})
    for f in fields:
        submitted = list(form.get(f.form_key, []))
        if len(submitted) > 1:
            raise TamperedForm(f"The answer to {f.name!r} was sent more than once. Nothing was saved.")
        raw = submitted[0].strip() if submitted else ""
        parsed.raw[f.name] = raw
        if raw == "":
            parsed.values[f.name] = None
            if f.required:
                parsed.errors[f.name] = "Please choose an answer: this decision is needed to continue."
            continue
        value, error = _check(f, raw)
        parsed.values[f.name] = value
        if error:
            parsed.errors[f.name] = error
    if parsed.skipped and not skips_confirmed:
        for name in parsed.skipped:
            parsed.errors[name] = SKIP_MESSAGE
    return parsed


def _check(f: Field, raw: str) -> tuple[Value | None, str | None]:
    if f.kind == "choice":
        allowed = {_render(o.value): o.value for o in f.options}
        if raw not in allowed:
            raise TamperedForm(
                f"The answer to {f.name!r} is not one of its options. Please reload the page; nothing was saved."
            )
        return allowed[raw], None
    if f.kind == "number":
        try:
            number = float(raw)
        except ValueError:
            return None, "Please enter a number, using digits (for example 3)."
        if not math.isfinite(number):
            return None, "Please enter a number, using digits (for example 3)."
        if f.integer and not number.is_integer():
            return None, "Please enter a whole number."
        assert f.minimum is not None and f.maximum is not None
        if not f.minimum <= number <= f.maximum:
            return None, f"Please enter a number from {_render(f.minimum)} to {_render(f.maximum)}."
        return (int(number) if f.integer else number), None
    words = len(re.findall(r"\S+", raw))
    if f.max_chars is not None and len(raw) > f.max_chars:
        return None, f"Please keep your answer under {f.max_chars} characters (it has {len(raw)})."
    if words < f.min_words:
        return None, f"Please write at least {f.min_words} words (you have written {words})."
    return raw, None


def _render(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
