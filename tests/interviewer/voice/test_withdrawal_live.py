"""Withdrawing in the middle of a spoken interview (in-process transport, real models): the answer said
afterwards is not stored, the session hangs up, and the database and blob store hold only what the
withdrawal policy keeps."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.voice.inprocess import InProcessTransport
from interviewer.voice.session import InterviewSession, VoiceRuntime
from storage.db import transaction
from storage.models import Participant, RecordingChunk
from survey.withdrawal import withdraw
from tests.interviewer.voice.helpers import ANSWER, admitted_participant
from tests.withdrawal_policy import assert_withdrawal_kept_only_what_it_may

pytestmark = pytest.mark.slow
WAIT_S = 90.0


def test_withdrawing_during_a_live_interview_hangs_up_and_keeps_nothing_said(
        runtime: VoiceRuntime, session_factory: sessionmaker[Session], speak_text) -> None:  # type: ignore[no-untyped-def]
    participant_id, visit_id = admitted_participant(session_factory)
    answer = speak_text(ANSWER)

    def chunks_stored() -> bool:
        with session_factory() as session:
            return session.scalars(select(RecordingChunk.id).limit(1)).first() is not None

    def withdraw_now() -> set[str]:
        with transaction(session_factory) as session:
            hashes = set(session.scalars(select(RecordingChunk.blob_sha256)))
            withdraw(session, session.get(Participant, participant_id), "changed my mind", runtime.blobs)
            return hashes

    async def interview() -> tuple[InterviewSession, set[str], str | None]:
        transport = InProcessTransport()
        session = InterviewSession(runtime, transport.attach, visit_id=visit_id)
        await session.start()
        await session.log.wait_for(lambda log: any(p.question_id == "grew_up" and p.started_at
                                                   for p in log.played), WAIT_S)
        # Withdraw once the recording has stored a chunk, so there is audio for the withdrawal to erase.
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while not await asyncio.to_thread(chunks_stored) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
        hashes = await asyncio.to_thread(withdraw_now)
        await transport.speak(answer)
        reason = await asyncio.wait_for(session.wait(), WAIT_S)  # it hangs up by itself
        await transport.close()
        return session, hashes, reason

    session, hashes, reason = asyncio.run(interview())
    assert hashes, "the interview was being recorded before the withdrawal"
    assert not session.done
    assert not any(p.question_id == "work" for p in session.log.played), "nothing was said after the answer"
    with session_factory() as db:
        assert_withdrawal_kept_only_what_it_may(db, participant_id, runtime.blobs, hashes)
        assert db.scalars(select(RecordingChunk)).all() == [], f"closed ({reason}) with no chunk kept"
