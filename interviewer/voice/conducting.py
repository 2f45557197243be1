"""The conductor, seen from the voice session: which interview, run off the event loop, and turn times.

* `open_conductor` finds the interview to run: a given id, or the visit's voice interview (resumed
  from its checkpoint when it is in progress, created when there is none).
* `ConductorDriver` runs every conductor call in one worker thread, in order (the conductor makes
  blocking LLM calls and commits to the database), and tells which turn rows each reply wrote. If
  a call fails unexpectedly, the conductor is reloaded from its checkpoint and asked again: the
  checkpoint says whether a reply is still owed (then it is decided now) or the last one is
  repeated.
* `TurnClock` puts the turns the conductor wrote on the recording's timeline: ``start_s`` and
  ``end_s`` become when the words were really spoken, and the reply's first turn gets
  ``response_latency_ms``: from the end of the participant's speech to the interviewer's first
  audio. (The conductor's own clock, for its time budget, is unchanged.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer import metrics
from interviewer.admission import NotAdmitted, check_admission
from interviewer.conductor import Conductor, ConductorOptions, Reply
from interviewer.conductor.persistence import InterviewWithdrawn
from interviewer.llm.client import LLMClient
from protocols import Study
from storage.db import transaction
from storage.models import Interview, Turn

log = logging.getLogger(__name__)

VOICE = "voice"
T = TypeVar("T")


class InterviewUnavailable(RuntimeError):
    """There is no interview to run (finished, withdrawn, or unknown); the message says which."""


def open_conductor(session_factory: sessionmaker[Session], study: Study, llm: LLMClient, *,
                   interview_id: int | None = None, visit_id: int | None = None, guide_id: str | None = None,
                   mode: str = VOICE, options: ConductorOptions | None = None) -> Conductor:
    """The conductor of the interview to run now (blocking: call it in a thread).

    With ``interview_id``: that interview, resumed. With ``visit_id``: the visit's newest interview
    in progress, resumed; a new one (the study's guide, or ``guide_id``) when the visit has none;
    `InterviewUnavailable` when its interview already ended. Neither: a new interview.

    An interview that belongs to a visit opens only when the visit is admitted now
    (`interviewer.admission`: consent with the recording scope, at the interview step, not
    withdrawn); otherwise `InterviewUnavailable`.
    """
    _admit(session_factory, visit_id, interview_id)
    if interview_id is None and visit_id is not None:
        with session_factory() as session:
            latest = session.scalars(select(Interview).where(Interview.visit_id == visit_id, Interview.mode == mode)
                                     .order_by(Interview.id.desc())).first()
            if latest is not None:
                if latest.status != "in_progress":
                    raise InterviewUnavailable(f"the visit's interview {latest.id} has ended ({latest.status})")
                interview_id = latest.id
    if interview_id is not None:
        with session_factory() as session:
            interview = session.get(Interview, interview_id)
            if interview is None:
                raise InterviewUnavailable(f"there is no interview {interview_id}")
            stored_guide = interview.guide_id
        return Conductor.resume(interview_id, _guide(study, stored_guide), llm, session_factory, options=options)
    chosen = guide_id or study.spec.interview_guide
    if chosen is None:
        raise InterviewUnavailable("the study has no interview guide (study.yaml's interview_guide)")
    return Conductor.start(_guide(study, chosen), llm, session_factory, mode=mode, visit_id=visit_id,
                           options=options)


def _admit(session_factory: sessionmaker[Session], visit_id: int | None, interview_id: int | None) -> None:
    with session_factory() as session:
        if visit_id is None and interview_id is not None:
            visit_id = session.scalar(select(Interview.visit_id).where(Interview.id == interview_id))
        if visit_id is None:
            return  # a pilot or text interview that belongs to no visit
        try:
            check_admission(session, visit_id)
        except NotAdmitted as refused:
            raise InterviewUnavailable(f"the interview may not start: {refused}") from None


def _guide(study: Study, guide_id: str):  # type: ignore[no-untyped-def]
    try:
        return study.interview_guides[guide_id]
    except KeyError:
        raise InterviewUnavailable(f"the study has no interview guide {guide_id!r}") from None


@dataclass(frozen=True)
class Spoken:
    """A reply and where its utterances are stored: turn ``first_seq`` onwards (None when repeated, not new)."""

    reply: Reply
    first_seq: int | None
    answer_seq: int | None = None
    """The participant's turn this reply answers, when there is one."""


class ConductorDriver:
    """The conductor, called from the event loop, run in its own worker thread."""

    def __init__(self, conductor: Conductor, *, reload: Callable[[], Conductor]) -> None:
        self.conductor = conductor
        self.interview_id = conductor.interview_id
        self._reload = reload
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"conductor-{self.interview_id}")

    @property
    def done(self) -> bool:
        """Whether the interview has ended."""
        return self.conductor.done

    async def open(self) -> Spoken:
        """What to say now: the opening, the owed reply, or the last reply again (resumed)."""
        return await self._call(self._open)

    async def respond(self, text: str, seconds: float) -> Spoken:
        """Record the participant's answer and return the reply."""
        return await self._call(lambda: self._respond(text, seconds))

    def close(self) -> None:
        """Stop the worker thread (after the call in progress)."""
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def _call(self, step: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, step)

    def _open(self) -> Spoken:
        return self._spoken(self.conductor.open(), answer_seq=None)

    def _respond(self, text: str, seconds: float) -> Spoken:
        before = self.conductor.state.next_seq
        try:
            reply = self.conductor.respond(text, seconds)
        except InterviewWithdrawn:
            raise InterviewUnavailable(f"interview {self.interview_id} was withdrawn") from None
        except Exception:
            # the database or the conductor failed mid-turn: go on from the checkpoint, which
            # knows whether the answer was recorded and a reply is owed
            log.exception("the conductor failed; reloading it from its checkpoint",
                          extra={"interview_id": self.interview_id})
            self.conductor = self._reload()
            recorded = self.conductor.state.next_seq > before
            return self._spoken(self.conductor.open(), answer_seq=before if recorded else None)
        return self._spoken(reply, answer_seq=before)

    def _spoken(self, reply: Reply, *, answer_seq: int | None) -> Spoken:
        if reply.resumed:  # said again, not recorded again
            return Spoken(reply, None, None)
        return Spoken(reply, self.conductor.state.next_seq - len(reply.utterances), answer_seq)


class TurnClock:
    """Writes real times onto the conductor's turn rows (blocking; call it in a thread)."""

    def __init__(self, session_factory: sessionmaker[Session], interview_id: int) -> None:
        self.session_factory = session_factory
        self.interview_id = interview_id

    def place(self, seq: int, *, start_s: float, end_s: float, latency_ms: float | None = None,
              clear_latency: bool = False) -> None:
        """Set turn ``seq``'s times (seconds on the timeline) and, if given, its response latency."""
        with transaction(self.session_factory) as session:
            turn = session.scalars(select(Turn).where(Turn.interview_id == self.interview_id, Turn.seq == seq)).first()
            if turn is None:
                log.warning("no turn to place on the timeline", extra={"interview_id": self.interview_id, "seq": seq})
                return
            turn.start_s = round(start_s, 3)
            turn.end_s = round(max(start_s, end_s), 3)
            if latency_ms is not None:
                turn.response_latency_ms = round(latency_ms, 1)
                metrics.RESPONSE_LATENCY.observe(latency_ms / 1000)
            elif clear_latency:
                turn.response_latency_ms = None
