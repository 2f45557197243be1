"""How an item or outcome is answered (single choice, number, likert, text) and the GSS missing-data codes.

Part of ``protocols.schema`` (one module per file kind); see its docstring for the conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from protocols.schema.base import Invalid, Model, Number, Problem, Slug, Text, _Checks


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
