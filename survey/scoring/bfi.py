"""BFI-44 trait scores of a visit's stored answers, by the one scorer in ``protocols.scoring``.

Uses the instrument's own scoring key and each item's scale ends, so a reverse-keyed answer x on a
1..5 scale scores (1 + 5) - x = 6 - x. Items left unanswered are left out of their trait's mean; a
trait with no answered item scores None.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocols import Instrument
from protocols.scoring import keyed_items, scale_ends
from protocols.scoring import trait_scores as score
from storage.models import Response


def keyed_value(instrument: Instrument, item_id: str, value: float, reverse: bool) -> float:
    """The item's contribution to its trait: the answer, or (min + max) - answer when reverse-keyed."""
    low, high = scale_ends(instrument, item_id)
    return (low + high) - value if reverse else value


def trait_scores(instrument: Instrument, answers: Mapping[str, float | None]) -> dict[str, float | None]:
    """{trait: mean keyed score} from {item_id: answer}; unknown item ids are ignored."""
    return score(keyed_items(instrument), answers)


def visit_trait_scores(session: Session, instrument: Instrument, visit_id: int) -> dict[str, float | None]:
    """Trait scores from a visit's stored answers to this instrument."""
    rows = session.execute(
        select(Response.item_id, Response.value_number)
        .where(Response.visit_id == visit_id, Response.instrument == instrument.id)
    )
    return trait_scores(instrument, {item_id: value for item_id, value in rows})
