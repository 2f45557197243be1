"""Replies that come sooner: a decision made ahead (kept or dropped), the LLM's deadline, scripted audio
made ahead, and an acknowledgement while a slow reply is decided. Nothing here times anything: each
test checks what was said, stored and played."""

from __future__ import annotations

import asyncio
import dataclasses
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.conductor.state import State
from interviewer.language.safety_classifier import SafetyClassifier
from interviewer.llm.client import LLMClient
from interviewer.voice.agent import ACKNOWLEDGEMENT
from interviewer.voice.conducting import ConductorDriver, Spoken, open_conductor
from interviewer.voice.inprocess import InProcessTransport
from interviewer.voice.session import InterviewSession, SessionLog, VoiceRuntime
from protocols import Study
from storage.models import Interview, Turn
from tests.interviewer.voice.helpers import ANSWER
from tests.llm_stand_in import Call, Hang, Slow, StandInLLM

WAIT_S = 90.0
ACKNOWLEDGEMENTS = ["I see.", "Thank you."]


def _turns(factory: sessionmaker[Session], interview_id: int) -> list[tuple[int, str, str | None, str]]:
    with factory() as session:
        return [(t.seq, t.speaker, t.question_id, t.text) for t in session.scalars(
            select(Turn).where(Turn.interview_id == interview_id).order_by(Turn.seq))]


def _driver(study: Study, llm: LLMClient, factory: sessionmaker[Session], deadline_s: float | None = None
            ) -> ConductorDriver:
    conductor = open_conductor(factory, study, llm)
    reload = partial(open_conductor, factory, study, llm, interview_id=conductor.interview_id)
    return ConductorDriver(conductor, reload=reload, decision_deadline_s=deadline_s)


def test_a_reply_decided_ahead_is_kept_when_the_turn_ends_with_the_same_words(
        tiny_study: Study, llm: LLMClient, session_factory: sessionmaker[Session], stand_in: StandInLLM) -> None:
    driver = _driver(tiny_study, llm, session_factory)

    async def run() -> tuple[Spoken, Spoken, list[tuple[int, str, str | None, str]], int]:
        opening = await driver.open()
        ahead = driver.speculate("I grew up in Ohio.", 2.0)
        assert ahead is not None
        await ahead
        written_before_the_turn_ended = _turns(session_factory, driver.interview_id)
        calls = len(stand_in.calls)
        reply = await driver.respond("I grew up  in Ohio.", 2.0)  # the same words, spaced as the framework joins them
        assert len(stand_in.calls) == calls  # nothing decided twice
        driver.close()
        return opening, reply, written_before_the_turn_ended, calls

    opening, reply, before, calls = asyncio.run(run())
    assert opening.upcoming == ("What do you do for work?",)
    assert [seq for seq, *_ in before] == [0, 1]  # held back until the turn ended
    assert reply.ahead and reply.reply.text == "What do you do for work?"
    assert (reply.first_seq, reply.answer_seq) == (3, 2)
    assert reply.upcoming == ("Thank you. That is the end of our talk.",)
    assert _turns(session_factory, driver.interview_id)[2:] == [
        (2, "participant", "grew_up", "I grew up in Ohio."), (3, "interviewer", "work", "What do you do for work?")]
    assert driver.speculations == {"started": 1, "kept": 1, "dropped": 0, "failed": 0}


def test_a_reply_decided_ahead_is_dropped_when_the_participant_goes_on(
        tiny_study: Study, llm: LLMClient, session_factory: sessionmaker[Session], stand_in: StandInLLM) -> None:
    def follow_up(call: Call) -> dict[str, str]:
        where = " in Texas" if "Texas" in call.last_answer else ""
        return {"signal": "none", "action": "follow_up", "follow_up": f"What was it like{where}?"}

    stand_in.on_decision = follow_up
    driver = _driver(tiny_study, llm, session_factory)
    full = "I grew up in Ohio. Then we moved to Texas when I was ten."

    async def run() -> Spoken:
        await driver.open()
        ahead = driver.speculate("I grew up in Ohio.", 2.0)
        assert ahead is not None
        await ahead  # it ran to the end: a follow-up on Ohio, held back
        driver.drop_speculation()  # the participant goes on
        reply = await driver.respond(full, 2.0)
        driver.close()
        return reply

    reply = asyncio.run(run())
    assert [call.last_answer for call in stand_in.of_kind("decision")] == ["I grew up in Ohio.", full]
    assert not reply.ahead and reply.reply.text == "What was it like in Texas?"
    assert _turns(session_factory, driver.interview_id)[2:] == [
        (2, "participant", "grew_up", full), (3, "interviewer", "grew_up", "What was it like in Texas?")]
    with session_factory() as session:
        interview = session.get(Interview, driver.interview_id)
        assert interview is not None
        state = State.from_checkpoint(interview.checkpoint)
    assert state.next_seq == 4 and state.followups == {"grew_up": 1}  # the dropped follow-up left no trace
    assert driver.speculations == {"started": 1, "kept": 0, "dropped": 1, "failed": 0}


def test_the_llm_that_misses_the_decision_deadline_is_not_waited_for_and_sits_out_the_next_decision(
        tiny_study: Study, llm: LLMClient, session_factory: sessionmaker[Session], stand_in: StandInLLM) -> None:
    stand_in.on_decision = lambda call: Hang()  # the client's own timeout is 2 s; the deadline comes first
    llm.served_models()  # the stand-in answers and the safety classifier is loaded before the clock matters:
    SafetyClassifier.shipped().warm()  # the deadline covers the whole decision, the LLM call is its last part
    driver = _driver(tiny_study, llm, session_factory, deadline_s=1.0)

    async def run() -> tuple[Spoken, Spoken]:
        await driver.open()
        first = await driver.respond("I grew up in Ohio.", 2.0)
        second = await driver.respond("I am a nurse.", 2.0)
        driver.close()
        return first, second

    first, second = asyncio.run(run())
    asked = len(stand_in.of_kind("decision"))
    stand_in.reset()
    assert first.reply.text == "What do you do for work?" and second.reply.done
    assert asked == 1  # having missed its deadline once, the LLM sits out the next decision
    with session_factory() as session:
        interview = session.get(Interview, driver.interview_id)
        assert interview is not None
        assert interview.checkpoint["fallback_reasons"] == {"deadline": 2}


def _replied(log: SessionLog) -> bool:
    """Whether the interviewer has said something after the first question, an acknowledgement aside."""
    return len([p for p in log.played if p.kind != ACKNOWLEDGEMENT and p.started_at]) >= 3


def _run_interview(runtime: VoiceRuntime, answer) -> InterviewSession:  # type: ignore[no-untyped-def]
    async def interview() -> InterviewSession:
        transport = InProcessTransport()
        session = InterviewSession(runtime, transport.attach)
        await session.start()
        await session.log.wait_for(lambda log: any(p.question_id == "grew_up" and p.started_at for p in log.played),
                                   WAIT_S)
        await transport.speak(answer)
        await session.log.wait_for(_replied, WAIT_S)
        await transport.close()
        await session.aclose()
        return session

    return asyncio.run(interview())


@pytest.mark.slow
def test_the_next_scripted_question_is_played_from_audio_made_ahead(
        runtime: VoiceRuntime, session_factory: sessionmaker[Session], speak_text) -> None:  # type: ignore[no-untyped-def]
    assert runtime.options.presynthesis and runtime.options.speculative_decision
    session = _run_interview(runtime, speak_text(ANSWER))
    assert [(p.kind, p.question_id) for p in session.log.played] == [
        ("scripted", None), ("scripted", "grew_up"), ("scripted", "work")]
    assert session.presynthesis is not None and session.presynthesis.used == 1  # "What do you do for work?"
    assert session.driver is not None and session.driver.speculations["kept"] == 1  # decided as the speech ended
    work = session.log.played[-1]
    assert work.started_at is not None and work.stopped_at is not None and work.stopped_at > work.started_at


@pytest.mark.slow
def test_an_acknowledgement_from_the_guide_is_said_at_once_when_the_reply_is_slow(
        runtime: VoiceRuntime, tiny_study: Study, session_factory: sessionmaker[Session], stand_in: StandInLLM,
        speak_text) -> None:  # type: ignore[no-untyped-def]
    tiny = tiny_study.interview_guides["tiny"]
    # time to spare on the first question, so that the (slow) LLM is asked
    roomy = [module.model_copy(update={"questions": [q.model_copy(update={"seconds": 300}) for q in module.questions]})
             for module in tiny.data.modules]
    guide = dataclasses.replace(tiny, data=tiny.data.model_copy(update={"acknowledgements": ACKNOWLEDGEMENTS,
                                                                         "modules": roomy}))
    study = dataclasses.replace(tiny_study, interview_guides={**tiny_study.interview_guides, "tiny": guide})
    options = dataclasses.replace(runtime.options, speculative_decision=False, decision_deadline_s=None,
                                  acknowledge_after_s=0.3)
    stand_in.on_decision = lambda call: Slow(1.0, {"signal": "none", "action": "follow_up",
                                                    "follow_up": "What was it like to grow up near the paper mill?"})
    session = _run_interview(dataclasses.replace(runtime, study=study, options=options), speak_text(ANSWER))

    played = session.log.played
    assert [p.kind for p in played[2:]] == [ACKNOWLEDGEMENT, "followup"]  # time to spare: the LLM's turn to ask
    assert played[2].text == "I see."
    acknowledgement, reply = played[2:]
    assert acknowledgement.seq is None  # not a turn of the conversation
    assert reply.latency_ms == acknowledgement.latency_ms  # the first audio the participant heard
    assert reply.reply_latency_ms is not None and acknowledgement.latency_ms is not None
    assert reply.reply_latency_ms > acknowledgement.latency_ms
    assert session.presynthesis is not None and session.presynthesis.used == 1  # the acknowledgement
    assert len(stand_in.of_kind("decision")) == 1
    turns = _turns(session_factory, session.interview_id)
    assert [(seq, speaker, qid) for seq, speaker, qid, _ in turns] == [
        (0, "interviewer", None), (1, "interviewer", "grew_up"), (2, "participant", "grew_up"),
        (3, "interviewer", "grew_up")]
    with session_factory() as db:
        reply = db.scalars(select(Turn).where(Turn.interview_id == session.interview_id, Turn.seq == 3)).one()
    assert reply.response_latency_ms == pytest.approx(acknowledgement.latency_ms, abs=0.1)
