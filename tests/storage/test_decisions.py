"""A game decision is stored in one of three shapes and read back by the same model; other shapes are refused."""

from __future__ import annotations

import pytest

from storage.decisions import DecisionValue, MalformedDecision


@pytest.mark.parametrize("answers", [{"amount": 2}, {"choice": 1}, {"received_3": 1, "received_6": 2.5}])
def test_what_the_journey_writes_reads_back_the_same(answers: dict[str, float]) -> None:
    stored = DecisionValue.from_answers(answers).as_json()
    assert DecisionValue.from_json(stored) == DecisionValue.from_answers(answers)


@pytest.mark.parametrize("stored", [{"received_3": 1}, {"value": 2}, {"amount": "2"}, {"amount": 1, "choice": 1}])
def test_a_shape_that_is_never_written_is_refused(stored: dict[str, object]) -> None:
    with pytest.raises(MalformedDecision, match="amount|choice"):
        DecisionValue.from_json(stored)
