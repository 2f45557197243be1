"""BFI-44 trait scores with reverse keying, from the instrument's own scoring key."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker
from survey_helpers import add_participant

from storage.db import transaction
from storage.models import Response
from survey.journey import Journey
from survey.runtime import StudyRuntime
from survey.scoring.bfi import keyed_value, trait_scores, visit_trait_scores


def test_the_key_has_the_standard_reverse_keyed_items(runtime: StudyRuntime) -> None:
    key = runtime.instrument("bfi44").scoring_key()
    counts = {trait: (len(items), sum(reverse for _, reverse in items)) for trait, items in key.items()}
    assert counts == {"extraversion": (8, 3), "agreeableness": (9, 4), "conscientiousness": (9, 4),
                      "neuroticism": (8, 3), "openness": (10, 2)}


def test_reverse_keyed_answers_are_flipped_on_the_scale(runtime: StudyRuntime) -> None:
    bfi = runtime.instrument("bfi44")
    assert keyed_value(bfi, "bfi06", 5, reverse=True) == 1
    assert keyed_value(bfi, "bfi06", 2, reverse=True) == 4
    assert keyed_value(bfi, "bfi01", 2, reverse=False) == 2


def test_answering_agree_strongly_everywhere_scores_the_reverse_items_low(runtime: StudyRuntime) -> None:
    bfi = runtime.instrument("bfi44")
    scores = trait_scores(bfi, {item.id: 5 for item in bfi.items})
    assert scores == pytest.approx({"extraversion": 28 / 8, "agreeableness": 29 / 9, "conscientiousness": 29 / 9,
                                    "neuroticism": 28 / 8, "openness": 42 / 10})


def test_unanswered_items_are_left_out_of_the_mean(runtime: StudyRuntime) -> None:
    bfi = runtime.instrument("bfi44")
    scores = trait_scores(bfi, {"bfi01": 4, "bfi06": 2, "bfi02": None})
    assert scores["extraversion"] == pytest.approx((4 + 4) / 2)
    assert scores["agreeableness"] is None


def test_scores_come_from_a_visits_stored_answers(session_factory: sessionmaker[Session], journey: Journey) -> None:
    bfi = journey.runtime.instrument("bfi44")
    with transaction(session_factory) as session:
        _, visit = add_participant(session, journey, 1)
        for order, item in enumerate(bfi.items, start=1):
            session.add(Response(visit_id=visit.id, wave=1, instrument="bfi44", item_id=item.id,
                                 value_number=3.0 if item.trait != "openness" else 1.0, presentation_order=order,
                                 protocol_hash=journey.runtime.instrument_hash("bfi44")))
        visit_id = visit.id
    with session_factory() as session:
        scores = visit_trait_scores(session, bfi, visit_id)
    assert scores == pytest.approx({"extraversion": 3.0, "agreeableness": 3.0, "conscientiousness": 3.0,
                                    "neuroticism": 3.0, "openness": (8 * 1 + 2 * 5) / 10})
