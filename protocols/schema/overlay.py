"""The ``overlay`` file: replacements of wording in another protocol file.

Part of ``protocols.schema`` (one module per file kind); see its docstring for the conventions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from protocols.schema.base import FileHeader, Invalid, Model, Problem, Slug, Text


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
