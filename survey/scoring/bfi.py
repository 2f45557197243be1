"""BFI-44 trait scores: the mean of each trait's items, reverse-keyed items flipped first.

Uses the instrument's own ``scoring_key()`` ({trait: [(item_id, reverse), ...]}) and the item's
scale ends, so a reverse-keyed answer x on a 1..5 scale scores (1 + 5) - x = 6 - x. Items left
unanswered are left out of their trait's mean; a trait with no answered item scores None.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocols import Instrument, LikertResponse, NumberResponse
from storage.models import Response


def _ends(instrument: Instrument, item_id: str) -> tuple[float, float]:
    response = instrument.response_for(item_id)
    if isinstance(response, LikertResponse):
        return 1.0, float(response.points)
    if isinstance(response, NumberResponse):
        return float(response.min), float(response.max)
    raise ValueError(f"item {item_id!r} is not a likert or number item and cannot be scored")


def keyed_value(instrument: Instrument, item_id: str, value: float, reverse: bool) -> float:
    """The item's contribution to its trait: the answer, or (min + max) - answer when reverse-keyed."""
    low, high = _ends(instrument, item_id)
    return (low + high) - value if reverse else value


def trait_scores(instrument: Instrument, answers: Mapping[str, float | None]) -> dict[str, float | None]:
    """{trait: mean keyed score} from {item_id: answer}; unknown item ids are ignored."""
    scores: dict[str, float | None] = {}
    for trait, items in instrument.scoring_key().items():
        given = {item_id: answers.get(item_id) for item_id, _ in items}
        values = [keyed_value(instrument, item_id, float(value), reverse)
                  for item_id, reverse in items if (value := given[item_id]) is not None]
        scores[trait] = sum(values) / len(values) if values else None
    return scores


def visit_trait_scores(session: Session, instrument: Instrument, visit_id: int) -> dict[str, float | None]:
    """Trait scores from a visit's stored answers to this instrument."""
    rows = session.execute(
        select(Response.item_id, Response.value_number)
        .where(Response.visit_id == visit_id, Response.instrument == instrument.id)
    )
    return trait_scores(instrument, {item_id: value for item_id, value in rows})
