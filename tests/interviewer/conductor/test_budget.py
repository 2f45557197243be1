"""The time budget: speech estimates, each question's budget, carry-over, and landing on the total."""

from __future__ import annotations

import pytest

from interviewer.conductor import Conductor
from interviewer.conductor.budget import (
    DEFAULT_EXCHANGE_S,
    END_OF_TURN_SILENCE_S,
    estimated_turn_seconds,
    mean_exchange_s,
    pace,
    speaking_seconds,
)
from tests.interviewer.scripted_participants import Scripted, interview, run, transcript


def test_speech_takes_two_and_a_half_words_a_second() -> None:
    assert speaking_seconds("one two three four five") == 2.0
    assert speaking_seconds("") == 0.0
    assert estimated_turn_seconds("one two three four five") == 2.0 + END_OF_TURN_SILENCE_S


def test_leftover_time_is_spread_over_the_remaining_questions_by_allotment() -> None:
    # Three questions of 100, 50 and 50 s; 20 s left over after the first.
    second = pace([100, 50, 50], position=1, used_s=0.0, carry_s=20.0)
    assert second.budget_s == 60.0  # 50 + 20 * 50 / 100
    last = pace([100, 50, 50], position=2, used_s=0.0, carry_s=20.0)
    assert last.budget_s == 70.0  # the last question gets all the carry
    behind = pace([100, 50, 50], position=1, used_s=10.0, carry_s=-40.0)
    assert behind.budget_s == 30.0 and behind.left_s == 20.0


def test_time_is_up_when_less_than_half_an_exchange_is_left() -> None:
    question = pace([60, 60], position=0, used_s=45.0, carry_s=0.0)
    assert question.left_s == 15.0
    assert not question.time_is_up(exchange_s=20.0)
    assert question.time_is_up(exchange_s=40.0)
    assert mean_exchange_s(0.0, 0) == DEFAULT_EXCHANGE_S
    assert mean_exchange_s(90.0, 3) == 30.0


def test_the_llm_moves_on_once_the_question_had_its_time_and_later_ones_would_not_stretch_much() -> None:
    early = pace([100, 100, 100], position=0, used_s=50.0, carry_s=0.0)
    assert early.carry_after_s == 50.0 and early.may_move_on(exchange_s=30.0)  # 50 / 200 = 25 %
    far_ahead = pace([100, 100, 100], position=0, used_s=20.0, carry_s=0.0)
    assert not far_ahead.may_move_on(exchange_s=30.0)  # 80 / 200 = 40 %
    life_story = pace([625, 25, 6000], position=0, used_s=40.0, carry_s=0.0)
    assert not life_story.may_move_on(exchange_s=30.0)  # a long question answered in a sentence goes on
    date_of_birth = pace([625, 25, 6000], position=1, used_s=8.0, carry_s=0.0)
    assert date_of_birth.may_move_on(exchange_s=30.0)  # a short one answered in a word moves on
    last = pace([100, 100, 100], position=2, used_s=80.0, carry_s=0.0)
    assert not last.may_move_on(exchange_s=30.0)  # 20 s would be left unspent at the very end
    assert last.may_move_on(exchange_s=50.0)


def test_carry_over_through_a_real_interview(short_guide, llm, factory, stand_in) -> None:
    guide = short_guide.data
    conductor = Conductor.start(short_guide, llm, factory)
    intro_and_closing = speaking_seconds(guide.intro.text) + speaking_seconds(guide.closing.text)
    assert conductor.state.carry_s == pytest.approx(-intro_and_closing)

    first = conductor.open()
    question_s = first.utterances[-1].end_s - first.utterances[-1].start_s
    conductor.respond("I grew up in Ohio, went to school there, and I have two brothers.", 20.0)
    # The LLM said move on: the first question used its reading and one answer, the rest carries.
    used = conductor.state.seconds_used["life_story_overview"]
    assert used == pytest.approx(question_s + 20.0)
    assert conductor.state.carry_s == pytest.approx(-intro_and_closing + 120 - used)
    second = conductor._pace()
    assert second.budget_s == pytest.approx(60 + conductor.state.carry_s * 60 / 210)


CITIES = ("Dayton", "Fresno", "Macon", "Tulsa", "Duluth", "El Paso", "Knoxville", "Spokane", "Flint", "Worcester")
PEOPLE = ("brother", "aunt", "grandmother", "best friend", "cousin", "neighbour", "coach", "boss")
PLACES = ("paper mill", "hospital", "diner", "school", "warehouse", "church", "garage")


def storyteller(seconds: float):  # noqa: ANN201
    """A participant who answers every question with something new (a year, a place, a person), each
    answer taking ``seconds``, as Park et al.'s participants took about 30 s for an answer."""
    told = iter(range(100000))

    def answer(reply):  # noqa: ANN001, ANN202
        n = next(told)
        return (f"In {1960 + n % 60} my {PEOPLE[n % len(PEOPLE)]} and I moved to {CITIES[n % len(CITIES)]}, "
                f"and I found work at the {PLACES[n % len(PLACES)]} there, number {n}."), seconds

    return answer


@pytest.mark.parametrize("decision", ["follow_up", "move_on"])
def test_a_whole_interview_with_answers_of_park_s_length_lands_within_five_percent_of_the_guide_total(
        decision, avp_guide, llm, factory, stand_in) -> None:
    stand_in.on_decision = lambda call: {"signal": "none", "action": decision, "follow_up": None}
    conductor = Conductor.start(avp_guide, llm, factory)
    last = run(conductor, storyteller(seconds=30.0))
    assert last.kind == "closing"
    total = avp_guide.data.total_seconds
    assert abs(conductor.state.clock_s - total) <= 0.05 * total
    turns = transcript(factory, conductor.interview_id)
    scripted = [t for t in turns if t[1] == "scripted" and t[2] is not None]
    assert len(scripted) == 109  # nothing in the notes rules a question out, so all are asked
    assert interview(factory, conductor.interview_id).status == "completed"
    assert max(conductor.state.followups.values()) <= avp_guide.data.followups.max_per_question


def test_short_answers_with_nothing_new_end_the_interview_early_instead_of_filling_it_with_probes(
        avp_guide, llm, factory, stand_in) -> None:
    stand_in.on_decision = lambda call: {"signal": "none", "action": "follow_up",
                                         "follow_up": "What happened next?"}
    conductor = Conductor.start(avp_guide, llm, factory)
    last = run(conductor, Scripted(default="It was a good time in my life, I remember it well.", seconds=14.0))
    assert last.kind == "closing"
    assert conductor.state.clock_s < 0.8 * avp_guide.data.total_seconds
    assert max(conductor.state.generic_probes.values()) <= avp_guide.data.followups.generic_per_question
    assert interview(factory, conductor.interview_id).status == "completed"
