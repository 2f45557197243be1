"""Follow-ups grounded in what the participant said: chosen by measured signals, never by position."""

from __future__ import annotations

import dataclasses

import pytest

from interviewer.conductor import Conductor
from interviewer.conductor.anchors import anchors
from interviewer.conductor.followups import Context, FollowUps, objective_text, stable_choice
from interviewer.conductor.options import ConductorOptions
from interviewer.language.sentences import shared_encoder
from tests.llm_stand_in import Call


def follow_up_with(text: str):  # noqa: ANN201
    return lambda call: {"signal": "none", "action": "follow_up", "follow_up": text}


@pytest.fixture(scope="module")
def followups(short_guide) -> FollowUps:  # noqa: ANN001
    return FollowUps(short_guide.data.followups, shared_encoder(), exclude=["Isabella"])


def context(guide, question_id: str, answers: list[str], known: tuple[str, ...] = ()) -> Context:  # noqa: ANN001
    question = guide.question(question_id)
    text = " ".join(question.text.split())
    return Context(question=text, objective=objective_text(question), answers=answers, known=known, asked=[text])


def test_a_follow_up_asking_for_what_the_participant_already_said_is_rejected_by_meaning(followups,
                                                                                         short_guide) -> None:
    # "for a living" shares no word with the answer: only its meaning says it is already known
    said = context(short_guide.data, "life_story_overview", ["Now I work nights as a nurse at the hospital."])
    candidate = followups.rank(said, "What do you do for a living?")
    assert followups.judge_text("What do you do for a living?", said) == "redundant"
    assert candidate[1] == {"redundant": 1}
    assert all(scored.candidate.text != "What do you do for a living?" for scored in candidate[0])


def test_the_conductor_asks_a_grounded_follow_up_instead_of_a_redundant_one(short_guide, llm, factory,
                                                                           stand_in) -> None:
    stand_in.on_decision = follow_up_with("What do you do for a living?")
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    reply = conductor.respond("Now I work nights as a nurse at the hospital.", 8.0)
    assert (reply.kind, reply.question_id) == ("followup", "life_story_overview")
    assert reply.text in {"What does it mean for you that you work nights as a nurse at the hospital?",
                          "How did it come about that you work nights as a nurse at the hospital?"}
    assert conductor.state.followup_choices["rejected:redundant"] == 1
    assert conductor.state.followup_choices["kind:situation"] == 1


def test_an_event_is_chosen_over_a_place_name(followups, short_guide) -> None:
    said = context(short_guide.data, "life_story_overview",
                   ["Ohio, mostly. My father lost his job when I was twelve."])
    choice = followups.choose(said)
    assert choice is not None
    assert (choice.kind, choice.anchor) == ("event", "your father lost his job")
    ranked, _ = followups.rank(said)
    place = next(scored for scored in ranked if scored.candidate.kind == "place")
    assert place.candidate.anchor == "Ohio" and place.score < ranked[0].score


@pytest.mark.parametrize("listed", [None, ["died"]], ids=["the guide's list", "a list with an inflected word"])
def test_a_death_is_followed_up_before_the_work_told_beside_it(avp_guide, listed) -> None:  # noqa: ANN001
    # From a pilot: the father's death was passed over for his job ("How did things change after your
    # dad worked in the film industry?"): "he" was not read as the dad, and both events weighed the same.
    # A guide author who lists "died" (not the dictionary's "die") gets no error, so it must match too.
    data = avp_guide.data.followups
    if listed is not None:
        data = data.model_copy(update={"turning_points": listed})
    followups = FollowUps(data, shared_encoder())
    said = context(avp_guide.data, "life_story_overview",
                   ["I always felt really lucky. My dad worked in the film industry, but he died of a heart "
                    "attack when I was fifteen."])
    choice = followups.choose(said)
    assert choice is not None
    assert choice.text == "What was it like for you when your dad died of a heart attack?"


def test_a_marriage_said_with_a_verb_is_grounded_and_asked_about_before_a_move(avp_guide) -> None:  # noqa: ANN001
    # "got married" names no thing (a noun, a name, a number): before turning points, a question about it
    # was rejected as ungrounded, and the interviewer asked about going to school instead.
    followups = FollowUps(avp_guide.data.followups, shared_encoder())
    said = context(avp_guide.data, "life_story_overview",
                   ["I went to school in Texas. I got married at twenty and we moved to Denver."])
    choice = followups.choose(said)
    assert choice is not None
    assert choice.text == "What was it like for you when you got married at twenty?"


def test_an_abstract_noun_is_not_asked_about_as_a_thing() -> None:
    # From pilots: "You mentioned a difference.", "You mentioned a big topic. What has that been like for you?"
    said = "It made a difference, I guess. Money is a big topic in our house."
    found = {a.text for a in anchors(said) if a.kind == "thing"}
    assert not found & {"a difference", "a big topic"}
    assert found == {"money", "your house"}


def test_a_date_said_before_the_verb_is_left_out_of_the_event() -> None:
    # From a pilot: "What was it like for you when In December of 2016 you went?"
    found = [(a.kind, a.text) for a in anchors("In December of 2016 I went into surgery for a broken leg.")]
    assert ("event", "you went into surgery") in found


def test_a_hyphenated_word_before_a_noun_is_kept_whole() -> None:
    # From a pilot: "How did things change after your mother became a mom?" (she became a stay-at-home mom)
    events = {a.text for a in anchors("My mother became a stay-at-home mom. I got a full-time job at the plant.")
              if a.kind == "event"}
    assert events == {"your mother became a stay-at-home mom", "you got a full-time job at the plant"}


def test_a_present_get_passive_is_a_situation_not_a_past_event() -> None:
    found = [(a.kind, a.text) for a in anchors("We get paid every two weeks.")]
    assert found == [("situation", "you get paid every two weeks")]


def test_a_condition_in_the_present_tense_is_not_asked_about() -> None:
    # From a pilot: "When we get married, he got the money" gave "How did things change after you get married?"
    for said, condition in [("When we get married, he got the money.", "you get married"),
                            ("If I lose my job, I'll move back home.", "you lose your job")]:
        assert condition not in {a.text for a in anchors(said)}
    assert ("event", "you moved to Ohio") in [(a.kind, a.text) for a in anchors("When I was ten, we moved to Ohio.")]


def test_the_noun_of_a_set_phrase_with_of_is_not_asked_about() -> None:
    # From a pilot: "She was in charge of her sister" gave "You mentioned charge of her sister."
    said = "She was in charge of her sister. I live in front of the school."
    found = {a.text for a in anchors(said) if a.kind == "thing"}
    assert not found & {"charge of her sister", "front of the school"}
    assert "the school" in found


def test_a_follow_up_takes_up_the_latest_answer_rather_than_an_earlier_one_under_the_question(followups,
                                                                                            short_guide) -> None:
    said = context(short_guide.data, "life_story_overview",
                   ["My father lost his job when I was twelve.", "After that we moved in with my grandmother."])
    choice = followups.choose(said)
    assert choice is not None
    assert "grandmother" in choice.text
    earlier = next(scored for scored in followups.rank(said)[0] if "father" in scored.candidate.text)
    assert earlier.recency == 0.0


def test_a_length_of_time_or_an_amount_is_not_a_thing_to_ask_about() -> None:
    said = ("My last pregnancy was in the hospital for an hour or so. The other is seven years of age. "
            "In one word, it was hard.")
    found = {anchor.text for anchor in anchors(said) if anchor.kind == "thing"}
    assert not found & {"an hour", "seven years", "one word"}
    assert "your last pregnancy" in found


def test_he_or_she_after_the_participant_names_a_relation_is_asked_about_as_that_relation() -> None:
    events = [(a.kind, a.text) for a in anchors("My mom was a teacher. She died when I was ten.")]
    assert ("event", "your mom died") in events


def test_a_he_that_could_mean_two_relations_is_not_asked_about() -> None:
    said = anchors("My dad and my brother ran the farm. He died in 2001.")
    assert not [a for a in said if a.kind == "event"]


def test_something_done_to_the_participant_now_is_a_situation_not_a_past_event() -> None:
    # From a pilot: "What do you remember most about the time your health care is paid for by your
    # insurance company?"
    said = [(a.kind, a.text) for a in anchors("My health care is paid for by my insurance company.")]
    assert ("situation", "your health care is paid for by your insurance company") in said
    assert not [kind for kind, _ in said if kind == "event"]


def test_an_event_is_asked_back_without_a_phrase_that_only_says_when() -> None:
    # From a pilot: "What do you remember most about the time you had a mortgage at the time?"
    events = [a.text for a in anchors("I had a mortgage at the time. We had a car accident the last time we "
                                      "were there. I went through a hard time in college.") if a.kind == "event"]
    assert events == ["you had a mortgage", "you had a car accident", "you went through a hard time in college"]


def test_hours_of_work_are_not_a_thing_to_ask_about() -> None:
    # From a pilot: "I work a lot of hours" → "You mentioned hours. Could you tell me more about that?"
    assert [(a.kind, a.text) for a in anchors("I work a lot of hours.")] == [("situation", "you work a lot of hours")]


def test_a_bare_noun_in_a_set_phrase_is_not_a_thing_to_ask_about() -> None:
    found = {anchor.text for anchor in anchors("I finally got my life back on track. We stayed in touch for "
                                               "years.") if anchor.kind == "thing"}
    assert not found & {"track", "touch"}


def test_a_noun_that_names_its_thing_through_of_is_asked_about_with_it() -> None:
    # the pilot asked "You mentioned the verge." and "You mentioned the lack."
    found = {anchor.text for anchor in anchors("My family was on the verge of eviction. People are concerned "
                                               "about the lack of attention we have been getting.")
             if anchor.kind == "thing"}
    assert {"the verge of eviction", "the lack of attention"} <= found
    assert not found & {"the verge", "the lack"}


def test_a_feeling_said_with_a_negation_is_not_asked_about_as_if_felt() -> None:
    # the pilot answered "I am not a happy person" with "What was going on for you when you felt happy?"
    found = {(anchor.kind, anchor.text) for anchor in anchors("It does not mean that I am happy. I am not a happy "
                                                               "person. I never felt safe there.")}
    assert not {text for kind, text in found if kind == "feeling"}
    assert ("thing", "a happy person") not in found


def test_what_the_participant_says_they_do_not_have_is_not_asked_about() -> None:
    # the pilot answered "They don't have the same prejudices about me" with "You mentioned the same prejudices."
    found = {anchor.text for anchor in anchors("They don't have the same prejudices about me. We never had a TV "
                                               "growing up. I didn't get the job. I don't think the school was good.")}
    assert not found & {"the same prejudices", "a TV", "the job"}
    assert "the school" in found


def test_a_thing_the_participant_calls_yours_is_not_asked_back_as_theirs() -> None:
    # the pilot asked "You mentioned your heart." of "...because there is love in your heart."
    found = {anchor.text for anchor in anchors("People help each other here because there is love in your heart. "
                                               "I keep my garden for the neighbours.")}
    assert not any("heart" in text for text in found)
    assert "your garden" in found


def test_a_hyphenated_word_is_asked_about_whole() -> None:
    # the pilot asked "You mentioned run ins."; "my mother-in-law" was asked about as "your mother"
    found = {(anchor.kind, anchor.text) for anchor in anchors("I've had a lot of run-ins with police. "
                                                               "My mother-in-law lives with us.")}
    assert ("thing", "run-ins") in found
    assert ("person", "your mother-in-law") in found
    assert ("person", "your mother") not in found


def test_what_the_participant_says_they_are_is_not_asked_about_as_a_thing() -> None:
    # the pilot asked "You mentioned a worker." after "I was a worker in my mother's house"
    found = {anchor.text for anchor in anchors("I was a worker in my mother's house. I am a very social person. "
                                               "I worked there for a while.")}
    assert not found & {"a worker", "a very social person", "a while"}
    assert "your mother's house" in found


def test_a_place_cut_off_at_the_end_of_an_answer_is_not_asked_about() -> None:
    # an answer cut off at "in the United" was asked "What was life like for you in United?"
    assert not [a for a in anchors("We wanted to raise them in the United") if a.kind == "place"]
    assert [a.text for a in anchors("We wanted to raise them in Ohio.") if a.kind == "place"] == ["Ohio"]


def test_a_clause_is_asked_back_whole_or_not_at_all() -> None:
    # the pilot asked "How did it come about that your husband you live in the South Atlantic?" and
    # "How did it come about that you do use marijuana like prescription drugs?"
    found = {anchor.text for anchor in anchors("My husband, my son, and I live in the South Atlantic. My wife and I "
                                               "live in Ohio. I do use marijuana, like prescription drugs.")
             if anchor.kind in {"event", "situation"}}
    assert found == {"you use marijuana"}


def test_a_one_word_place_answer_gets_a_follow_up_about_that_place(short_guide, llm, factory, stand_in) -> None:
    stand_in.on_decision = follow_up_with("What did you do in the United States?")
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    reply = conductor.respond("Ohio.", 2.0)
    assert reply.kind == "followup"
    assert reply.text in {template.replace("{anchor}", "Ohio") for template in short_guide.data.followups.place}
    assert conductor.state.followup_choices["rejected:ungrounded"] == 1


def test_a_restatement_of_the_scripted_question_is_rejected(followups, short_guide) -> None:
    said = context(short_guide.data, "political_views", ["I'm somewhere in the middle, I guess."])
    assert followups.judge_text("How would you describe your political views?", said) == "restates_question"


def test_an_llm_question_that_takes_up_only_the_scripted_questions_words_is_ungrounded(followups,
                                                                                       short_guide) -> None:
    # From a pilot: the answer echoes the scripted question's words ("important", "issue"); the LLM's
    # question takes up only those, so it asks the scripted question again in other words.
    said = context(short_guide.data, "political_views",
                   ["Well, it's the economy. I think the economy is a very important issue for everybody."])
    restated = "What do you think is the most important issue for you today? What are your reasons?"
    assert followups.judge_text(restated, said) == "ungrounded"
    assert followups.judge_text("Why does the economy matter so much to you?", said) == "passed"


def test_a_follow_up_that_asks_two_questions_at_once_is_rejected(followups, short_guide) -> None:
    # From a pilot: the LLM asked two things in one turn, and the participant answered only the second.
    said = context(short_guide.data, "political_views",
                   ["Well, it's the economy. I think the economy is a very important issue for everybody."])
    assert followups.judge_text("Why does the economy matter so much to you? And how did you vote?",
                                said) == "two_questions"
    assert followups.judge_text("Why does the economy matter so much to you?", said) == "passed"


def test_a_question_off_the_objective_is_rejected(followups, short_guide) -> None:
    said = context(short_guide.data, "political_views", ["I care about healthcare, and I grew up in Ohio."])
    assert followups.judge_text("What was life like for you in Ohio?", said) == "off_objective"


def test_an_answer_with_nothing_to_ground_on_gets_the_guides_generic_probe(short_guide, llm, factory,
                                                                           stand_in) -> None:
    stand_in.on_decision = follow_up_with("What do you think about this interview?")
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    reply = conductor.respond("Hmm. I don't know.", 3.0)
    assert (reply.kind, reply.text) == ("followup", short_guide.data.followups.generic[0])
    assert conductor.state.followup_choices["kind:generic"] == 1


def test_a_position_biased_chooser_never_gets_its_way() -> None:
    options = ["What made you feel so lonely?", "How would you describe your grandmother?",
               "What was life like for you in Ohio?"]
    assert stable_choice(options, lambda shown: 0) is None  # always the first shown
    assert stable_choice(options, lambda shown: 2) is None  # always the last shown
    grandmother = stable_choice(options, lambda shown: next(i for i, o in enumerate(shown) if "grandmother" in o))
    assert grandmother == 1


def test_the_llm_choice_counts_only_when_it_is_the_same_in_every_order(short_guide, llm, factory,
                                                                       stand_in) -> None:
    answer = "My grandmother raised me in Dayton. I moved to Texas at nineteen and I felt so lonely."
    options = ConductorOptions(follow_up_choice_orders=3)
    # position bias (the stand-in's default, like Gemma 3 270M): the ranking decides
    biased = Conductor.start(short_guide, llm, factory, options=options)
    biased.open()
    ranked = biased.respond(answer, 10.0)
    shown = [call.options for call in stand_in.of_kind("choice")]
    assert len(shown) == 2 and shown[0][0] != shown[1][0]  # the second order already disagrees
    assert ranked.text == shown[0][0]  # the best-ranked, listed first in the first order
    assert biased.state.followup_choices["how:ranked_llm_unstable"] == 1

    # a chooser that means it: the grandmother question, wherever it is listed
    def grandmother(call: Call) -> dict[str, int]:
        return {"choice": next(i for i, o in enumerate(call.options, start=1) if "grandmother" in o)}

    stand_in.on_choice = grandmother
    stand_in.calls = []
    steady = Conductor.start(short_guide, llm, factory, options=options)
    steady.open()
    chosen = steady.respond(answer, 10.0)
    orders = [call.options for call in stand_in.of_kind("choice")]
    assert len(orders) == 3 and len({tuple(order) for order in orders}) == 3
    assert "your grandmother" in chosen.text and chosen.text != orders[0][0]
    assert steady.state.followup_choices["how:llm_stable"] == 1


def test_an_answer_cut_off_mid_phrase_gives_an_anchor_that_does_not_trail_off() -> None:
    found = [anchor.text for anchor in anchors("My kids worked there for a lot of the")]
    assert found[0] == "your kids worked there for a lot"


def test_a_clause_is_asked_back_with_the_place_it_names() -> None:
    # the avp pilot asked "What does it mean for you that your mother lives?"
    found = {anchor.text for anchor in anchors("It's my mother who works there, and because she lives here.")}
    assert "your mother lives here" in found and "your mother lives" not in found


def test_in_order_to_is_a_purpose_not_a_thing_to_ask_about() -> None:
    # the avp pilot asked "You mentioned order. What has that been like for you?"
    found = {anchor.text for anchor in anchors("I saved money in order to buy a house. We moved in order for "
                                               "my family to be near my parents.")}
    assert not any("order" in text for text in found)
    assert "you saved money" in found


def test_a_clause_is_not_joined_across_a_coordinated_phrase_it_left_out() -> None:
    # the avp pilot asked "What was it like for you when you had children to spend on things like repairs?"
    found = {anchor.text for anchor in anchors("It was better when we had children and a lot more money to "
                                               "spend on things like clothing or house repairs.")}
    assert "you had children" in found
    assert not any("children to spend" in text for text in found)


def test_an_answer_cut_off_after_a_possessive_gives_an_anchor_that_does_not_trail_off() -> None:
    # the pilot asked "How did it come about that you have some rest time during your?"
    found = [anchor.text for anchor in anchors("The people with me make sure we have some rest time during our")]
    assert not any(text.endswith(("your", "during")) for text in found)
    assert "you have some rest time" in found


def test_what_someone_had_to_used_to_or_wanted_to_do_is_an_event_to_ask_about() -> None:
    events = {anchor.text for anchor in anchors("I had to go back to school because it was the only job left. "
                                               "I used to work at the plant. I wanted to become a nurse.")
              if anchor.kind == "event"}
    assert events == {"you had to go back to school", "you used to work at the plant", "you wanted to become a nurse"}


def test_a_thing_the_answer_names_is_an_anchor_but_a_word_for_everything_is_not() -> None:
    found = {(anchor.kind, anchor.text) for anchor in anchors("I work the night shift. Things were a long story, "
                                                              "and there were a lot of people.")}
    assert ("thing", "the night shift") in found
    assert not {text for kind, text in found if kind == "thing"} - {"the night shift"}


def test_a_thing_said_not_to_exist_is_not_asked_about_and_a_thing_after_and_loses_the_and() -> None:
    found = {anchor.text for anchor in anchors("I don't think there have been any bad encounters. It was raised by "
                                               "the unions and so many other movements.") if anchor.kind == "thing"}
    assert found == {"the unions", "so many other movements"}


def test_going_getting_and_having_something_are_events() -> None:
    found = {anchor.text for anchor in anchors("I went to college in Boston. I got a job at the paper mill. "
                                              "I had a baby in 1999.")}
    assert {"you went to college", "you got a job at the paper mill", "you had a baby in 1999"} <= found


def test_a_verb_with_nothing_to_it_is_not_asked_back() -> None:
    # "What do you remember most about the time you realized?" asks about nothing the participant said
    assert anchors("I realized that a lot of what I do has to be done. I had no idea. I got it. "
                   "I've had people stay with me.") == []


def test_a_particle_stays_with_its_verb() -> None:
    found = [anchor.text for anchor in anchors("We were growing up in a small town.") if anchor.kind == "event"]
    assert found == ["you were growing up in a small town"]


def test_people_named_together_as_a_subject_are_asked_about_one_by_one() -> None:
    # asked back as one clause, they read "your mom your dad were working" (the pilot had "your momyour dad")
    found = [(anchor.kind, anchor.text) for anchor in anchors("My mom, and my dad were working in the construction")]
    assert ("person", "your mom") in found and ("person", "your dad") in found
    assert not [text for kind, text in found if kind in {"event", "situation"}]


def test_a_question_gets_no_more_follow_ups_than_the_guide_allows_however_much_time_is_left(
        short_guide, llm, factory, stand_in) -> None:
    stand_in.on_decision = follow_up_with("Why?")
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    answers = ["My grandmother raised me in Dayton after my parents split up.",
               "I moved to Texas at nineteen for a job on the oil fields.",
               "Later I met my wife at a church picnic in Austin.",
               "We had two kids and I went back to school at thirty."]
    replies = [conductor.respond(answer, 4.0) for answer in answers]
    assert short_guide.data.followups.max_per_question == 3
    assert [reply.kind for reply in replies] == ["followup", "followup", "followup", "scripted"]
    assert replies[-1].question_id == "crossroads_moment"
    allotment = short_guide.data.question("life_story_overview").seconds
    assert conductor.state.seconds_used["life_story_overview"] < allotment  # time was left


def test_a_second_answer_with_nothing_to_ground_on_moves_on_instead_of_another_probe(short_guide, llm, factory,
                                                                                   stand_in) -> None:
    stand_in.on_decision = follow_up_with("What do you think about this interview?")
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    probe = conductor.respond("Hmm. I don't know.", 3.0)
    again = conductor.respond("I'm not sure, honestly.", 3.0)
    assert probe.kind == "followup" and probe.text in short_guide.data.followups.generic
    assert (again.kind, again.question_id) == ("scripted", "crossroads_moment")


def test_a_generic_probe_asking_for_what_was_already_said_is_not_asked(followups, short_guide) -> None:
    said = context(short_guide.data, "life_story_overview", ["Hmm, yes."],
                   known=("My sister and my two cousins were part of it, they did most of the work.",))
    choice = followups.choose(said, probe_index=5)  # "Who else was part of that, and what was their role?"
    assert choice is not None and choice.text != short_guide.data.followups.generic[5]
    assert choice.rejected.get("generic_redundant") == 1


def test_a_fact_said_long_before_the_recent_window_is_not_asked_for_again(short_guide, llm, factory,
                                                                          stand_in) -> None:
    stand_in.on_decision = lambda call: {"signal": "none", "action": "move_on", "follow_up": None}
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    conductor.respond("I work nights as a nurse at the county hospital. " + "I like quiet evenings at home. " * 200,
                      60.0)
    assert not any("nurse" in line.text for line in conductor.window.lines)  # scrolled out of the LLM's window
    stand_in.on_decision = follow_up_with("What do you do for a living?")
    reply = conductor.respond("We moved to a bigger house in Dayton when I was ten.", 8.0)
    assert reply.text != "What do you do for a living?"
    assert conductor.state.followup_choices.get("rejected:redundant", 0) >= 1



def test_a_question_allotted_less_than_the_guides_minimum_gets_no_follow_up(short_guide, llm, factory,
                                                                            stand_in) -> None:
    stand_in.on_decision = follow_up_with("Why?")
    followups = short_guide.data.followups.model_copy(update={"min_question_seconds": 150})
    strict = dataclasses.replace(short_guide, data=short_guide.data.model_copy(update={"followups": followups}))
    assert strict.data.question("life_story_overview").seconds < 150
    conductor = Conductor.start(strict, llm, factory)
    conductor.open()
    reply = conductor.respond("My grandmother raised me in Dayton after my parents split up.", 6.0)
    assert (reply.kind, reply.question_id) == ("scripted", "crossroads_moment")
    assert conductor.state.followups == {}


def test_a_part_of_someone_s_body_is_not_asked_about_as_a_thing() -> None:
    # the pilot asked "You mentioned her face. What has that been like for you?"
    found = {anchor.text for anchor in anchors("She has a smile on her face, and she's very strong. "
                                               "She plays the violin in the school orchestra.")}
    assert not any("face" in text or "smile" in text for text in found)
    assert "the violin" in found


def test_a_person_from_an_earlier_answer_is_asked_about_in_words_that_stand_alone(followups,
                                                                                short_guide) -> None:
    # the pilot asked "What role did your dad play in that?" of an answer about the participant's wife
    said = context(short_guide.data, "life_story_overview",
                   ["My dad drove a truck for thirty years.", "Okay."])
    asked_about_dad = set()
    for turn in range(4):  # the template turns with the number of things said: every turn asks it alike
        asked = [*said.asked, *(f"Earlier question {n}?" for n in range(turn))]
        asked_about_dad |= {candidate.text for candidate in followups.candidates(dataclasses.replace(said, asked=asked))
                            if candidate.anchor == "your dad"}
    assert asked_about_dad == {"How would you describe your dad?"}


def test_what_another_person_is_is_not_asked_about_as_a_thing() -> None:
    # the pilot asked "You mentioned a little girl. What has that been like for you?" of a daughter
    found = {anchor.text for anchor in anchors("She's a cheerleader. She's a little girl who loves to dance. "
                                               "It was a criminal case.")}
    assert found == {"a criminal case"}


def test_a_pronoun_the_tagger_reads_as_initials_is_not_asked_about_as_a_person() -> None:
    # the pilot asked "How would you describe I. My?"
    found = {(anchor.kind, anchor.text) for anchor in anchors("Yes, my husband and I. My children are in "
                                                              "elementary school.")}
    assert ("person", "your children") in found
    assert not any("I." in text for _, text in found)
