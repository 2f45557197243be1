"""The conductor as a participant meets it: verbatim questions, follow-ups, moving on, skipping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from interviewer.conductor import Conductor, ConductorError
from interviewer.conductor.memory import WINDOW_MAX_CHARS
from storage.models import Turn
from tests.interviewer.scripted_participants import Scripted, interview, run, transcript
from tests.llm_stand_in import Call, reads_as

SHORT_IDS = ["life_story_overview", "crossroads_moment", "children_school_day_routine", "political_views",
             "values_most"]


def scripted_asked(factory, conductor: Conductor) -> list[str]:  # noqa: ANN001
    """The ids of the scripted questions asked, in order."""
    return [qid for _, kind, qid, _ in transcript(factory, conductor.interview_id) if kind == "scripted" and qid]


def follow_up_with(text: str):  # noqa: ANN201
    return lambda call: {"signal": "none", "action": "follow_up", "follow_up": text}


def test_the_interview_opens_with_the_intro_and_the_first_question_verbatim(short_guide, llm, factory,
                                                                             stand_in) -> None:
    guide = short_guide.data
    conductor = Conductor.start(short_guide, llm, factory, mode="text")
    reply = conductor.open()
    assert [u.text for u in reply.utterances] == [guide.intro.text, guide.questions()[0].text]
    assert [u.kind for u in reply.utterances] == ["scripted", "scripted"]
    assert reply.question_id == "life_story_overview" and not reply.done
    stored = interview(factory, conductor.interview_id)
    assert (stored.status, stored.mode, stored.visit_id, stored.guide_id) == ("in_progress", "text", None, "short")
    assert stored.protocol_hash == short_guide.content_hash
    assert stand_in.calls == []  # the script is read, never generated


def test_every_question_is_asked_verbatim_in_order_when_the_llm_moves_on(short_guide, llm, factory,
                                                                         stand_in) -> None:
    conductor = Conductor.start(short_guide, llm, factory)
    last = run(conductor, Scripted(seconds=60.0))
    turns = transcript(factory, conductor.interview_id)
    scripted = [(qid, text) for speaker, kind, qid, text in turns if kind == "scripted" and qid]
    assert scripted == [(q.id, q.text) for q in short_guide.data.questions()]
    assert last.kind == "closing" and last.text == short_guide.data.closing.text and last.done
    stored = interview(factory, conductor.interview_id)
    assert stored.status == "completed" and stored.ended_at is not None
    assert stored.end_reason == "completed: every applicable question was asked"


def test_the_llm_follow_up_is_asked_and_recorded_as_a_follow_up(short_guide, llm, factory, stand_in) -> None:
    stand_in.on_decision = follow_up_with("What kind of work did your mother do in Ohio?")
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    reply = conductor.respond("Ohio, with my mother.", 10.0)
    assert (reply.text, reply.kind, reply.question_id) == ("What kind of work did your mother do in Ohio?",
                                                           "followup", "life_story_overview")
    assert conductor.state.followups == {"life_story_overview": 1}
    assert conductor.state.followup_choices["kind:llm"] == 1
    decision = stand_in.of_kind("decision")[0]
    assert decision.last_answer == "Ohio, with my mother."
    assert decision.question == " ".join(short_guide.data.questions()[0].text.split())


def test_a_follow_up_that_runs_on_into_the_page_is_asked_up_to_the_end_of_its_line(short_guide, llm, factory,
                                                                                   stand_in) -> None:
    # what Gemma 270M writes under the grammar: a raw newline inside the string, then the page goes on
    stand_in.on_decision = lambda call: ('{"signal": "none", "action": "follow_up", "follow_up": '
                                         '"What was school like for you?\nParticipant: It was fine"}')
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    reply = conductor.respond("School was hard for me.", 10.0)
    assert (reply.text, reply.kind) == ("What was school like for you?", "followup")
    assert conductor.state.fallbacks == 0


def test_a_question_moves_on_when_its_time_runs_out(short_guide, llm, factory, stand_in) -> None:
    stand_in.on_decision = follow_up_with("And what happened after that?")  # refers to nothing: not asked
    conductor = Conductor.start(short_guide, llm, factory)
    opening = conductor.open()
    reading = opening.utterances[-1].end_s - opening.utterances[-1].start_s
    budget = 120 + conductor.state.carry_s * 120 / 330  # the intro and closing come out of the total

    first = conductor.respond("It was a long story. My family moved to Texas when I was ten.", 30.0)
    assert first.kind == "followup"  # 70 s used of about 93: time for another exchange
    assert first.text == "How did things change after your family moved to Texas?"  # 10 words: 4.0 s
    second = conductor.respond("Then we moved again, to a new town.", 30.0)
    assert (second.kind, second.question_id) == ("scripted", "crossroads_moment")
    used = reading + 30.0 + 4.0 + 30.0
    assert conductor.state.seconds_used["life_story_overview"] == pytest.approx(used)
    mean_exchange = (reading + 30.0 + 4.0 + 30.0) / 2
    assert budget - used < mean_exchange / 2  # less than half an exchange was left
    assert len(stand_in.of_kind("decision")) == 1  # the time-out needed no LLM call


def test_a_conditional_question_is_skipped_when_the_notes_say_it_does_not_apply(short_guide, llm, factory,
                                                                                stand_in) -> None:
    def reflection(call: Call) -> dict[str, object]:
        return {"conditions": {"has_children": {"value": "no", "evidence": "I never had kids"}},
                "facts": [{"key": "children", "value": "none"}]}

    stand_in.on_reflection = reflection
    stand_in.on_check = reads_as("no")
    conductor = Conductor.start(short_guide, llm, factory)
    run(conductor, Scripted(answers={"crossroads_moment": ["Leaving home at eighteen. I never had kids, so I "
                                                          "was free to move."]}, seconds=60.0))
    asked = scripted_asked(factory, conductor)
    assert asked == [q for q in SHORT_IDS if q != "children_school_day_routine"]
    assert conductor.state.skipped == ["children_school_day_routine"]
    assert conductor.state.notes["has_children"] == "no" and conductor.state.notes["children"] == "none"
    assert stand_in.of_kind("reflection")[0].checks == ["has_children"]
    # the quote was read again, in both orders of the values, before the note could skip anything
    assert [call.values for call in stand_in.of_kind("check")] == [["yes", "no"], ["no", "yes"]]
    assert {call.evidence for call in stand_in.of_kind("check")} == {"I never had kids"}


@pytest.mark.parametrize(("evidence", "said", "reads", "checked"), [
    # the quote is not the participant's words
    ("has no children", "Leaving home at eighteen.", "no", False),
    # the participant said it, but it is no evidence about children
    ("saving up for a car", "Leaving home at eighteen. These days I'm saving up for a car.", "no", False),
    # the quote says the opposite of the value: read again, it is "yes"
    ("my two kids keep me busy", "Leaving home at eighteen. These days my two kids keep me busy.", "yes", True),
    # the check names the first value listed, whichever it is (position bias, as Gemma 3 270M does)
    ("I never had kids", "Leaving home at eighteen. I never had kids, so I was free to move.", None, True),
], ids=["not_their_words", "says_nothing_of_it", "says_the_opposite", "read_by_position"])
def test_a_condition_note_that_does_not_hold_up_skips_nothing(short_guide, llm, factory, stand_in, evidence, said,
                                                              reads, checked) -> None:
    stand_in.on_reflection = lambda call: {"conditions": {"has_children": {"value": "no", "evidence": evidence}},
                                           "facts": []}
    if reads is not None:
        stand_in.on_check = reads_as(reads)
    conductor = Conductor.start(short_guide, llm, factory)
    run(conductor, Scripted(answers={"crossroads_moment": [said]}, seconds=60.0))
    assert scripted_asked(factory, conductor) == SHORT_IDS
    assert conductor.state.notes["has_children"] == "unknown"
    refused = [e for e in conductor.state.events if e["type"] == "note_check" and not e["confirmed"]]
    assert bool(refused) is checked


def test_every_turn_is_stored_with_its_timing_question_kind_and_protocol_hash(short_guide, llm, factory,
                                                                              stand_in) -> None:
    stand_in.on_decision = follow_up_with("What was school like then?")
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    conductor.respond("School was fine.", 6.5)
    with factory() as session:
        turns = list(session.scalars(select(Turn).where(Turn.interview_id == conductor.interview_id)
                                     .order_by(Turn.seq)))
    assert [(t.seq, t.speaker, t.kind, t.question_id) for t in turns] == [
        (0, "interviewer", "scripted", None), (1, "interviewer", "scripted", "life_story_overview"),
        (2, "participant", "answer", "life_story_overview"), (3, "interviewer", "followup", "life_story_overview")]
    assert all(t.protocol_hash == short_guide.content_hash for t in turns)
    assert all(a.end_s == b.start_s for a, b in zip(turns, turns[1:], strict=False))
    assert turns[2].end_s - turns[2].start_s == 6.5
    assert turns[3].end_s - turns[3].start_s == 2.0  # five words at 2.5 words a second
    assert turns[3].llm_latency_ms is not None and turns[3].llm_latency_ms > 0
    assert turns[3].response_latency_ms >= turns[3].llm_latency_ms
    checkpoint = interview(factory, conductor.interview_id).checkpoint
    assert checkpoint["phase"] == "answering" and checkpoint["next_seq"] == 4
    assert checkpoint["seconds_used"]["life_story_overview"] == pytest.approx(16.0 + 6.5 + 2.0)  # 40-word question


def test_an_ended_interview_takes_no_more_answers(short_guide, llm, factory, stand_in) -> None:
    conductor = Conductor.start(short_guide, llm, factory)
    run(conductor, Scripted(seconds=60.0))
    with pytest.raises(ConductorError, match="the interview has ended"):
        conductor.respond("one more thing", 3.0)


def test_prompt_size_stays_bounded_over_a_long_interview(avp_guide, llm, factory, stand_in) -> None:
    numbers = iter(range(1, 100000))
    stand_in.on_decision = lambda call: {"signal": "none", "action": "follow_up",
                                         "follow_up": f"Could you tell me more about part {next(numbers)}?"}
    stand_in.on_reflection = lambda call: {"conditions": {n: {"value": "unknown", "evidence": ""}
                                                          for n in call.checks},
                                           "facts": [{"key": f"fact {next(numbers)}", "value": "x" * 200}] * 3}
    talkative = " ".join(["We moved around a lot when I was young and I remember every house we lived in."] * 12)
    conductor = Conductor.start(avp_guide, llm, factory)
    run(conductor, Scripted(default=talkative, seconds=20.0))
    prompts = [call.prompt for call in stand_in.calls]
    assert len(prompts) > 150  # a long interview (how many follow-ups pass the checks moves the count)
    sizes = [len(p) for p in prompts]
    stretch = len(prompts) // 3
    assert max(sizes[-stretch:]) <= max(sizes[-2 * stretch:-stretch]) * 1.05  # flat: no longer growing
    assert max(sizes) == conductor.state.max_prompt_chars <= 12000
    for prompt in prompts:
        conversation = prompt.split("\nInterview\n", 1)[1].split("\nNotes ", 1)[0]
        assert len(conversation) <= WINDOW_MAX_CHARS
    assert len(conductor.notes.facts) == 20 and all(len(v) <= 60 for v in conductor.notes.facts.values())
