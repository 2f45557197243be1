"""Trait scores of a keyed instrument (the BFI-44): the one scorer, for the survey and the agent bank.

A trait's score is the mean of its answered items, a reverse-keyed answer x on a scale from ``low``
to ``high`` counted as (low + high) - x (on 1..5: 6 - x). It lives with the instruments because it
is what their scoring key means, and because both rooms that score (``survey`` on stored answers,
``agentbank`` on an export's tables) may import ``protocols`` and neither may import the other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from protocols.schema import Instrument, LikertResponse, NumberResponse


@dataclass(frozen=True)
class KeyedItem:
    """One scored item: its trait, whether it is reverse-keyed, and its scale's ends."""

    item_id: str
    trait: str
    reverse: bool
    low: float
    high: float

    def keyed(self, value: float) -> float:
        """The answer's contribution to its trait: the answer, or (low + high) - answer when reverse-keyed."""
        return (self.low + self.high) - value if self.reverse else value


def scale_ends(instrument: Instrument, item_id: str) -> tuple[float, float]:
    """The lowest and highest answer to a likert or number item; ValueError for any other item."""
    response = instrument.response_for(item_id)
    if isinstance(response, LikertResponse):
        return 1.0, float(response.points)
    if isinstance(response, NumberResponse):
        return float(response.min), float(response.max)
    raise ValueError(f"item {item_id!r} is not a likert or number item and cannot be scored")


def keyed_items(instrument: Instrument) -> list[KeyedItem]:
    """The instrument's scoring key as `KeyedItem`s, with each item's scale ends."""
    return [KeyedItem(item_id, trait, reverse, *scale_ends(instrument, item_id))
            for trait, keyed in instrument.scoring_key().items() for item_id, reverse in keyed]


def trait_scores(items: Iterable[KeyedItem], answers: Mapping[str, float | None]) -> dict[str, float | None]:
    """{trait: mean keyed score} from {item_id: answer}, for every trait of ``items``; a trait with no
    answered item (None or NaN) scores None. Answers to other items are ignored."""
    keyed: dict[str, list[float]] = {}
    for item in items:
        values = keyed.setdefault(item.trait, [])
        value = answers.get(item.item_id)
        if value is not None and not math.isnan(value):
            values.append(item.keyed(float(value)))
    return {trait: sum(values) / len(values) if values else None for trait, values in keyed.items()}
