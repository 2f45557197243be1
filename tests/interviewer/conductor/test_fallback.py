"""A malformed, empty or slow LLM reply never stalls the interview: it counts as "move on" with no
follow-up of its own, so pacing and the grounded follow-ups still decide (a follow-up grounded in
the answer while the question has time left, else the next scripted question), and the fallback is
counted and logged (without the transcript in the message)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from interviewer.conductor import Conductor
from storage.models import Turn
from tests.interviewer.scripted_participants import Scripted, interview, run, transcript
from tests.llm_stand_in import Slow

MESSAGE = "llm reply unusable; pacing and the grounded follow-ups decide"
ANSWER = "My grandmother raised me on a farm outside Tulsa."


@pytest.mark.parametrize(("reply", "reason"), [
    ("{not json", "bad_reply"),
    ("", "bad_reply"),
    ('["a list", "not an object"]', "bad_reply"),
    ({"thoughts": "no action given"}, "action_missing"),
    (Slow(5.0), "timeout"),
])
def test_an_unusable_decision_leaves_a_grounded_follow_up_to_pacing(reply, reason, short_guide, llm, factory,
                                                                   stand_in, caplog) -> None:
    stand_in.on_decision = lambda call: reply
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    with caplog.at_level(logging.WARNING, logger="interviewer.conductor"):
        answered = conductor.respond(ANSWER, 8.0)  # the question has most of its two minutes left
    assert answered.kind == "followup" and answered.question_id == "life_story_overview"
    assert "grandmother" in answered.text or "Tulsa" in answered.text
    checkpoint = interview(factory, conductor.interview_id).checkpoint
    assert checkpoint["fallbacks"] == 1 and checkpoint["fallback_reasons"] == {reason: 1}
    [record] = [r for r in caplog.records if r.name == "interviewer.conductor.conductor"]
    assert record.getMessage() == MESSAGE
    assert (record.reason, record.question_id, record.fallbacks) == (reason, "life_story_overview", 1)
    assert ANSWER not in record.getMessage()


def test_an_unusable_decision_moves_on_once_the_question_has_had_its_time(short_guide, llm, factory,
                                                                          stand_in) -> None:
    stand_in.on_decision = lambda call: "{not json"
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    answered = conductor.respond(ANSWER, 30.0)  # about half its budget used: pacing may move on
    assert (answered.kind, answered.text) == ("scripted", short_guide.data.question("crossroads_moment").text)
    assert conductor.state.fallbacks == 1


def test_a_malformed_reply_is_logged_with_its_text_only_as_personal_data(short_guide, llm, factory, stand_in,
                                                                        caplog) -> None:
    stand_in.on_decision = lambda call: '{"signal": "none", "action": "follow_u'
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    with caplog.at_level(logging.WARNING, logger="interviewer.conductor"):
        conductor.respond(ANSWER, 8.0)
    [record] = [r for r in caplog.records if r.name == "interviewer.conductor.conductor"]
    assert record.reason == "bad_reply"
    assert record.personal["llm_reply"] == '{"signal": "none", "action": "follow_u'
    assert "follow_u" not in record.getMessage()


def test_a_slow_reply_is_abandoned_at_the_timeout(short_guide, llm, factory, stand_in) -> None:
    stand_in.on_decision = lambda call: Slow(5.0)
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    conductor.respond(ANSWER, 8.0)
    waited = transcript_latency(factory, conductor.interview_id)
    assert 2000 <= waited < 4500  # VOXBANK_LLM_TIMEOUT_S is 2 s in these tests


def transcript_latency(factory, interview_id: int) -> float:  # noqa: ANN001
    with factory() as session:
        return float(session.scalar(select(Turn.llm_latency_ms).where(Turn.interview_id == interview_id,
                                                                      Turn.seq == 3)))


def test_a_rejected_follow_up_is_logged_with_the_reply_only_as_personal_data(short_guide, llm, factory, stand_in,
                                                                             caplog) -> None:
    stand_in.on_decision = lambda call: {"signal": "none", "action": "follow_up", "follow_up": "Tell me a joke."}
    conductor = Conductor.start(short_guide, llm, factory)
    conductor.open()
    with caplog.at_level(logging.INFO, logger="interviewer.conductor"):
        conductor.respond(ANSWER, 8.0)
    [record] = caplog.records
    assert record.getMessage() == "llm follow-up failed the checks; not asked"
    assert record.reason == "follow_up_not_a_question"
    assert "Tell me a joke." in record.personal["llm_reply"]
    assert conductor.state.rejected_follow_ups == {"follow_up_not_a_question": 1} and conductor.state.fallbacks == 0


def test_an_interview_with_a_broken_llm_still_runs_to_its_end(short_guide, llm, factory, stand_in) -> None:
    stand_in.on_decision = lambda call: "<html>502 Bad Gateway</html>"
    stand_in.on_reflection = lambda call: ""
    conductor = Conductor.start(short_guide, llm, factory)
    last = run(conductor, Scripted(answers={"crossroads_moment": ["I never had kids, so I moved to Denver."]},
                                   seconds=10.0))
    assert last.done and interview(factory, conductor.interview_id).status == "completed"
    asked = [qid for _, kind, qid, _ in transcript(factory, conductor.interview_id) if kind == "scripted" and qid]
    assert len(asked) == 5  # the conditional question is asked: unknown notes never skip
    decisions, reflections = len(stand_in.of_kind("decision")), len(stand_in.of_kind("reflection"))
    assert conductor.state.fallbacks == decisions + reflections > 0
    assert conductor.state.fallback_reasons == {"bad_reply": decisions, "reflection_bad_reply": reflections}
