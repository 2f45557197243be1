"""Errors raised when a protocol file cannot be used.

Every problem points at a place a person can open: the file, the line, the key path inside the
file, what is wrong, and what to do about it. `str()` renders it the way compilers do, so that
editors and terminals make it clickable::

    studies/park2024/games.yaml:42: games[2].endowment: expected a number, got 'three' — write a number such as 3
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

KeyPath = tuple[str | int, ...]


def format_key_path(key_path: Sequence[str | int]) -> str:
    """Render a key path the way it reads in YAML: ``modules[2].questions[0].seconds``."""
    out = ""
    for part in key_path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def describe_value(value: object) -> str:
    """How a YAML value reads in an error message: ``the text 'five'``, ``an empty value``, ..."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {shown}"
    if isinstance(value, list):
        return f"a list {shown}"
    if isinstance(value, dict):
        return f"a mapping {shown}"
    return f"a {type(value).__name__} {shown}"


class ProtocolError(Exception):
    """One problem in one protocol file, at one place.

    `file` is the path as given to the loader, `line` is 1-based (None when the problem is about
    the file as a whole), `key_path` is the path of keys and list indexes from the top of the
    file, `message` says what is wrong and `fix` says what to do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        key_path: Sequence[str | int] = (),
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.key_path: KeyPath = tuple(key_path)
        self.fix = fix
        super().__init__(str(self))

    @property
    def location(self) -> str:
        """``file:line`` (or just ``file`` when the problem has no line)."""
        if self.file is None:
            return "" if self.line is None else f"line {self.line}"
        return self.file if self.line is None else f"{self.file}:{self.line}"

    def __str__(self) -> str:
        parts = [p for p in (self.location, format_key_path(self.key_path)) if p]
        text = ": ".join([*parts, self.message])
        return f"{text} — {self.fix}" if self.fix else text

    def __repr__(self) -> str:
        return f"ProtocolError({str(self)!r})"


class ProtocolErrors(Exception):
    """Every problem found while loading a file or a study, in the order found.

    Iterate over it (or read `.errors`) for the individual `ProtocolError`s; `str()` lists them
    one per line under a count.
    """

    def __init__(self, errors: Iterable[ProtocolError]) -> None:
        self.errors: list[ProtocolError] = list(errors)
        if not self.errors:
            raise ValueError("ProtocolErrors needs at least one ProtocolError")
        super().__init__(str(self))

    def __iter__(self) -> Iterator[ProtocolError]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    def lines(self) -> list[str]:
        """Each problem rendered as ``file:line: key.path: message — fix``."""
        return [str(error) for error in self.errors]

    def __str__(self) -> str:
        count = len(self.errors)
        head = "1 problem in the study protocol:" if count == 1 else f"{count} problems in the study protocol:"
        return "\n".join([head, *self.lines()])
