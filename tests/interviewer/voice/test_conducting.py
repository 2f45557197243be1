"""Which interview a voice session runs, the conductor driven off the event loop, and turn times."""

from __future__ import annotations

import asyncio
import uuid
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.llm.client import LLMClient
from interviewer.voice.conducting import ConductorDriver, InterviewUnavailable, TurnClock, open_conductor
from protocols import Study
from storage.models import Interview, Participant, Turn, Visit
from storage.models import Study as StudyRow
from tests.interviewer.voice.helpers import admitted_visit


def make_visit(factory: sessionmaker[Session], **visit: object) -> int:
    """A visit at its interview step with a signed consent to recording (unless ``visit`` says otherwise)."""
    with factory() as session, session.begin():
        study = StudyRow(slug=f"s{uuid.uuid4().hex[:8]}", title="t", protocol_version="1", protocol_hash="0" * 64)
        session.add(study)
        session.flush()
        participant = Participant(study_id=study.id, prolific_pid=uuid.uuid4().hex[:24], pseudonym_id=str(uuid.uuid4()),
                                  status="active")
        session.add(participant)
        session.flush()
        return int(admitted_visit(session, participant, **visit).id)  # type: ignore[arg-type]


@pytest.mark.parametrize("visit", [
    {"signed": False}, {"scopes": ("participate",)}, {"step": "consent"}, {"step": "complete"},
    {"wave": 2, "step": "gss"}, {"consent_withdrawn": True},
], ids=["no consent", "no recording scope", "before the interview step", "after the interview step", "wave 2",
        "consent withdrawn"])
def test_the_conductor_does_not_open_for_a_visit_the_door_would_refuse(
        tiny_study: Study, llm: LLMClient, session_factory: sessionmaker[Session], visit: dict[str, object]) -> None:
    visit_id = make_visit(session_factory, **visit)
    with pytest.raises(InterviewUnavailable, match="the interview may not start"):
        open_conductor(session_factory, tiny_study, llm, visit_id=visit_id)
    with session_factory() as session:
        assert session.scalars(select(Interview)).all() == []


def test_a_withdrawn_participants_interview_is_not_resumed(tiny_study: Study, llm: LLMClient,
                                                           session_factory: sessionmaker[Session]) -> None:
    visit_id = make_visit(session_factory)
    conductor = open_conductor(session_factory, tiny_study, llm, visit_id=visit_id)
    with session_factory() as session, session.begin():
        participant = session.get(Visit, visit_id).participant  # type: ignore[union-attr]
        participant.status = "withdrawn"
    with pytest.raises(InterviewUnavailable, match="the participant is not active"):
        open_conductor(session_factory, tiny_study, llm, interview_id=conductor.interview_id)


def test_a_visit_gets_one_voice_interview_resumed_until_it_ends(tiny_study: Study, llm: LLMClient,
                                                                 session_factory: sessionmaker[Session]) -> None:
    visit_id = make_visit(session_factory)
    opened = partial(open_conductor, session_factory, tiny_study, llm, visit_id=visit_id)
    first = opened()
    assert first.guide.id == "tiny"  # the study's interview guide
    first.open()
    again = opened()
    assert again.interview_id == first.interview_id
    with session_factory() as session, session.begin():
        interview = session.get(Interview, first.interview_id)
        assert interview is not None and interview.mode == "voice" and interview.visit_id == visit_id
        interview.status = "completed"
    with pytest.raises(InterviewUnavailable, match=f"the visit's interview {first.interview_id} has ended"):
        opened()
    with pytest.raises(InterviewUnavailable, match="there is no interview 9999"):
        open_conductor(session_factory, tiny_study, llm, interview_id=9999)


def test_a_conductor_that_fails_mid_turn_is_reloaded_and_the_owed_reply_given(
        tiny_study: Study, llm: LLMClient, session_factory: sessionmaker[Session]) -> None:
    conductor = open_conductor(session_factory, tiny_study, llm)
    reload = partial(open_conductor, session_factory, tiny_study, llm,
                     interview_id=conductor.interview_id)

    def broken_reply(started: float) -> None:
        raise RuntimeError("the database went away after the answer was committed")

    async def run() -> tuple[list[int | None], list[int | None], str]:
        driver = ConductorDriver(conductor, reload=reload)
        opening = await driver.open()
        conductor._reply = broken_reply  # type: ignore[method-assign]
        reply = await driver.respond("I grew up in Ohio.", 2.0)
        driver.close()
        return [opening.first_seq, opening.answer_seq], [reply.first_seq, reply.answer_seq], reply.reply.text

    opening, reply, text = asyncio.run(run())
    assert opening == [0, None]
    assert reply == [3, 2]
    assert text == "What do you do for work?"
    with session_factory() as session:
        turns = session.scalars(select(Turn).where(Turn.interview_id == conductor.interview_id).order_by(Turn.seq))
        assert [(t.seq, t.speaker, t.question_id) for t in turns] == [
            (0, "interviewer", None), (1, "interviewer", "grew_up"), (2, "participant", "grew_up"),
            (3, "interviewer", "work")]


def test_the_turn_clock_puts_turns_on_the_recording_timeline(tiny_study: Study, llm: LLMClient,
                                                             session_factory: sessionmaker[Session]) -> None:
    conductor = open_conductor(session_factory, tiny_study, llm)
    conductor.open()
    clock = TurnClock(session_factory, conductor.interview_id)
    clock.place(1, start_s=4.2004, end_s=5.1, latency_ms=1234.56)
    clock.place(0, start_s=1.0, end_s=0.5, clear_latency=True)  # an end before its start is clamped
    with session_factory() as session:
        turns = {t.seq: t for t in session.scalars(select(Turn).where(Turn.interview_id == conductor.interview_id))}
    assert (turns[1].start_s, turns[1].end_s, turns[1].response_latency_ms) == (4.2, 5.1, 1234.6)
    assert (turns[0].start_s, turns[0].end_s, turns[0].response_latency_ms) == (1.0, 1.0, None)
