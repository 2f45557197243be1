"""The conductor, seen from the voice session: which interview, run off the event loop, and turn times.

* `open_conductor` finds the interview to run: a given id, or the visit's voice interview (resumed
  from its checkpoint when it is in progress, created when there is none).
* `ConductorDriver` runs every conductor call in one worker thread, in order (the conductor makes
  blocking LLM calls and commits to the database), and tells which turn rows each reply wrote. If
  a call fails unexpectedly, the conductor is reloaded from its checkpoint and asked again: the
  checkpoint says whether a reply is still owed (then it is decided now) or the last one is
  repeated.
* Speed on the live path (`VoiceOptions`): every reply's LLM calls share one deadline
  (``decision_deadline_s``, `interviewer.llm.reply_deadline`), after which the conductor decides
  without the model (a model that missed it sits out the next decisions, `RETRY_LLM_EVERY`); a
  reply may be decided ahead (`speculate`, see `interviewer.voice.speculation`) and is kept only
  when the turn ends with the same words; each reply names the scripted texts that may come next
  (``Spoken.upcoming``) so that their audio can be synthesised ahead.
* `TurnClock` puts the turns the conductor wrote on the recording's timeline: ``start_s`` and
  ``end_s`` become when the words were really spoken, and the reply's first turn gets
  ``response_latency_ms``: from the end of the participant's speech to the interviewer's first
  audio. (The conductor's own clock, for its time budget, is unchanged.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer import metrics
from interviewer.admission import NotAdmitted, check_admission
from interviewer.conductor import Conductor, ConductorOptions, Reply
from interviewer.conductor.persistence import InterviewWithdrawn
from interviewer.llm.client import LLMClient, reply_deadline
from interviewer.voice.speculation import HeldStore, Speculation, same_words
from protocols import Study
from storage.db import transaction
from storage.models import Interview, Turn
from storage.states import InterviewStatus

log = logging.getLogger(__name__)

VOICE = "voice"
T = TypeVar("T")
RETRY_LLM_EVERY = 3
"""After the LLM missed a reply's deadline, it is asked again only every this many replies: a model
too slow for the live path would otherwise burn the CPU the VAD, Whisper and Piper need, for nothing."""


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
                if latest.status != InterviewStatus.IN_PROGRESS:
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
    upcoming: tuple[str, ...] = ()
    """Scripted texts that may be said after this reply (the next question, one more while the next
    depends on the notes, or the closing): worth synthesising ahead."""
    ahead: bool = False
    """Whether the reply was decided ahead of the end of the turn (a kept speculation)."""


def upcoming_texts(conductor: Conductor) -> tuple[str, ...]:
    """The scripted texts that may follow the conductor's current question, in order."""
    if conductor.done:
        return ()
    texts: list[str] = []
    for question in conductor.questions[conductor.state.position + 1:]:
        texts.append(question.text)
        if question.condition is None:
            return tuple(texts)
    return (*texts, conductor.guide.closing.text)


class ConductorDriver:
    """The conductor, called from the event loop, run in its own worker thread."""

    def __init__(self, conductor: Conductor, *, reload: Callable[[], Conductor],
                 heard: Callable[[], bool] | None = None, decision_deadline_s: float | None = None) -> None:
        self.conductor = conductor
        self.interview_id = conductor.interview_id
        self.decision_deadline_s = decision_deadline_s
        self.speculations = {"started": 0, "kept": 0, "dropped": 0, "failed": 0}
        """How decisions ahead went in this session (for pilots and logs)."""
        self._reload = reload
        self._heard = heard
        """Whether the participant already heard the last reply to its end (then a resumed `open` says nothing)."""
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"conductor-{self.interview_id}")
        self._done = conductor.done
        self._speculation: Speculation | None = None
        self._skip_llm = 0
        """Decisions still to make without asking the LLM, since it last missed its deadline."""

    @property
    def done(self) -> bool:
        """Whether the interview has ended (as said: a closing decided ahead and not kept does not count)."""
        return self._done

    async def open(self) -> Spoken:
        """What to say now: the opening, the owed reply, or the last reply again (resumed)."""
        return self._noted(await self._call(self._open))

    async def respond(self, text: str, seconds: float) -> Spoken:
        """Record the participant's answer and return the reply (the one decided ahead, when it was
        decided on the same words)."""
        speculation, self._speculation = self._speculation, None
        if speculation is not None and same_words(speculation.text, text):
            kept = await self._call(partial(self._keep, speculation))
            if kept is not None:
                return self._noted(kept)
        elif speculation is not None:
            self._discard(speculation)
        deadline_at = self._deadline_at()
        return self._noted(await self._call(lambda: self._respond(text, seconds, deadline_at)))

    def speculate(self, text: str, seconds: float) -> asyncio.Future[None] | None:
        """Start deciding the reply to ``text`` now, its writes held back; `respond` with the same words
        keeps it, anything else drops it (call on the event loop). Returns what resolves when the
        decision is made (None when none was started: the same words again, or the interview is over)."""
        current = self._speculation
        if current is not None and same_words(current.text, text):
            return None
        self.drop_speculation()
        if self._done:
            return None
        speculation = Speculation(text, seconds, self._deadline_at())
        self._speculation = speculation
        self.speculations["started"] += 1
        future = asyncio.get_running_loop().run_in_executor(self._thread, self._decide_ahead, speculation)
        future.add_done_callback(_log_failure)
        return future

    def drop_speculation(self) -> None:
        """Forget the reply being decided ahead (the participant went on)."""
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            self._discard(speculation)

    def _discard(self, speculation: Speculation) -> None:
        speculation.dropped = True
        self.speculations["dropped"] += 1
        future = asyncio.get_running_loop().run_in_executor(self._thread, self._roll_back, speculation)
        future.add_done_callback(_log_failure)

    def _deadline_at(self) -> float | None:
        if self.decision_deadline_s is None:
            return None
        if self._skip_llm > 0:
            return time.monotonic()  # already passed: the conductor decides at once, without asking the LLM
        return time.monotonic() + self.decision_deadline_s

    def _judge_llm(self, deadline_at: float | None, missed_before: int) -> None:
        """In the worker thread, after a decision: after a missed deadline the LLM sits out the next
        ``RETRY_LLM_EVERY - 1`` decisions."""
        if deadline_at is None:
            return
        if self._skip_llm > 0:
            self._skip_llm -= 1
        elif self._missed() > missed_before:
            self._skip_llm = RETRY_LLM_EVERY - 1

    def _missed(self) -> int:
        return sum(count for reason, count in self.conductor.state.fallback_reasons.items()
                   if reason.endswith("deadline"))

    def _noted(self, spoken: Spoken) -> Spoken:
        self._done = spoken.reply.done
        return spoken

    async def stop(self, source: str) -> Spoken:
        """End the interview at the participant's request (the End button); the reply is the closing.
        A reply being decided ahead is dropped first: the participant asked to stop, not to hear it."""
        self.drop_speculation()
        return self._noted(await self._call(lambda: self._spoken(self.conductor.stop(source), answer_seq=None)))

    def close(self) -> None:
        """Stop the worker thread (after the call in progress)."""
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def _call(self, step: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, step)

    def _open(self) -> Spoken:
        reply = self.conductor.open()
        if reply.resumed and not reply.done and self._heard is not None and self._heard():
            # a reload after the last question was heard whole: listen for the answer, do not repeat it
            reply = Reply(utterances=(), done=False, resumed=True)
        return self._spoken(reply, answer_seq=None)

    def _respond(self, text: str, seconds: float, deadline_at: float | None = None) -> Spoken:
        before = self.conductor.state.next_seq
        missed = self._missed()
        try:
            with reply_deadline(deadline_at):
                reply = self.conductor.respond(text, seconds)
        except InterviewWithdrawn:
            raise InterviewUnavailable(f"interview {self.interview_id} was withdrawn") from None
        except Exception:
            return self._recover(before)
        self._judge_llm(deadline_at, missed)
        return self._spoken(reply, answer_seq=before)

    def _recover(self, before: int) -> Spoken:
        # the database or the conductor failed mid-turn: go on from the checkpoint, which
        # knows whether the answer was recorded and a reply is owed
        log.exception("the conductor failed; reloading it from its checkpoint",
                      extra={"interview_id": self.interview_id})
        self.conductor = self._reload()
        recorded = self.conductor.state.next_seq > before
        return self._spoken(self.conductor.open(), answer_seq=before if recorded else None)

    def _decide_ahead(self, speculation: Speculation) -> None:
        """In the worker thread: decide the reply with every write held back."""
        if speculation.dropped:
            return  # dropped before its turn came: nothing ran, nothing to undo
        speculation.ran = True
        real = self.conductor.store
        held = HeldStore(real)
        self.conductor.store = held
        before = self.conductor.state.next_seq
        missed = self._missed()
        try:
            with reply_deadline(speculation.deadline_at):
                reply = self.conductor.respond(speculation.text, speculation.seconds)
            self._judge_llm(speculation.deadline_at, missed)
            speculation.spoken = self._spoken(reply, answer_seq=before, ahead=True)
            speculation.held = held
        except Exception:
            log.info("a reply decided ahead failed; it is decided again at the end of the turn",
                     extra={"interview_id": self.interview_id}, exc_info=True)
            speculation.failed = True
        finally:
            self.conductor.store = real

    def _keep(self, speculation: Speculation) -> Spoken | None:
        """In the worker thread: write what the speculation held back and return its reply (None: it
        failed, and the conductor is back at its checkpoint)."""
        if speculation.spoken is None or speculation.held is None:
            self.speculations["failed"] += 1
            self._roll_back(speculation)
            return None
        before = speculation.spoken.answer_seq if speculation.spoken.answer_seq is not None else 0
        try:
            speculation.held.release()
        except InterviewWithdrawn:
            raise InterviewUnavailable(f"interview {self.interview_id} was withdrawn") from None
        except Exception:
            return self._recover(before)
        self.speculations["kept"] += 1
        return speculation.spoken

    def _roll_back(self, speculation: Speculation) -> None:
        """In the worker thread: undo a speculation in memory (nothing of it was written)."""
        if speculation.ran:
            self.conductor = self._reload()

    def _spoken(self, reply: Reply, *, answer_seq: int | None, ahead: bool = False) -> Spoken:
        upcoming = upcoming_texts(self.conductor)
        if reply.resumed:  # said again, not recorded again
            return Spoken(reply, None, None, upcoming)
        return Spoken(reply, self.conductor.state.next_seq - len(reply.utterances), answer_seq, upcoming, ahead)


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


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("a decision ahead could not be started or undone", exc_info=future.exception())
