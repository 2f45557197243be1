"""The follow-up guards know the interviewer by the name the guide gives it, not by the shipped one."""

from __future__ import annotations

import pytest

from interviewer.conductor.decisions import DecisionRejected, check_follow_up, parse_decision


def check(text: str, name: str) -> str:
    return check_follow_up(text, asked=[], last_answer="I grew up near the river.", interviewer_name=name)


@pytest.mark.parametrize("name", ["Isabella", "Marcus", "Dr. Okafor"])
def test_a_follow_up_that_runs_on_into_the_interviewers_line_is_refused(name: str) -> None:
    with pytest.raises(DecisionRejected, match="follow_up_markers"):
        check(f"What was the river like? {name}: Tell me more.", name)


@pytest.mark.parametrize("name", ["Isabella", "Marcus"])
def test_a_follow_up_that_talks_about_the_interviewer_by_name_is_refused(name: str) -> None:
    with pytest.raises(DecisionRejected, match="follow_up_third_person"):
        check(f"What would {name} ask about the river next?", name)


def test_another_guides_interviewer_name_is_an_ordinary_word() -> None:
    assert check("Did Isabella, your neighbour, fish in the river too?", "Marcus") == (
        "Did Isabella, your neighbour, fish in the river too?")


def test_the_decision_reader_passes_the_name_on() -> None:
    decision = parse_decision({"action": "follow_up", "signal": "none", "follow_up": "Marcus: What then?"},
                              asked=[], last_answer="We moved.", interviewer_name="Marcus")
    assert (decision.follow_up, decision.rejected_follow_up) == (None, "follow_up_markers")
