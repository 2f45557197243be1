"""The ``instrument`` file: a survey battery of items, with its scoring.

Part of ``protocols.schema`` (one module per file kind); see its docstring for the conventions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from protocols.schema.base import FileHeader, Model, Order, Slug, Text, _Checks
from protocols.schema.responses import (
    IAP_CODE,
    AnyResponse,
    Item,
    LikertResponse,
    NumberResponse,
    Option,
    Response,
    ScaleRef,
    SingleChoiceResponse,
)


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
