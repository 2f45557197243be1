"""Problems raised by the checks, the value types, and the base of every protocol model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict

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
