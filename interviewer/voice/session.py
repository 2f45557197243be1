"""One interview's voice session over any transport, and what a process's sessions share.

`VoiceRuntime` is per process: options, database, blob store, study, the loaded models and the LLM
client (``voxbank.wiring.voice_runtime`` builds it from the settings). `InterviewSession` is per
connection: it opens the interview's conductor (new or resumed), builds the ``AgentSession`` (Silero
VAD, Whisper STT, Piper TTS, no LLM: the `InterviewerAgent` speaks the conductor's words), lets the
transport attach its audio input and output (``attach``), wraps both with the recorders, and follows
every utterance to its playout to put the turns on the recording's timeline and measure each reply's
latency.

What makes replies quick is switched by `VoiceOptions`: the LLM's deadline and the decision ahead
(`ConductorDriver`, `Speculator`), scripted audio made ahead (`Presynthesis`), and the guide's
acknowledgements said while a reply is decided (`InterviewerAgent`). A reply's latency is to the
first audio the participant hears, an acknowledgement included (``Played.reply_latency_ms`` is
to the reply itself).

The transport decides what the audio is: a LiveKit room (``RoomIO``), the embedded WebRTC peer
connection, or in-process frames. The session is the same in every case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from livekit.agents import AgentSession, CloseEvent, llm
from livekit.agents.voice import SpeechHandle
from sqlalchemy.orm import Session, sessionmaker

from interviewer import metrics
from interviewer.conductor import Conductor, ConductorOptions
from interviewer.llm.client import LLMClient
from interviewer.voice import presence
from interviewer.voice.agent import ACKNOWLEDGEMENT, Heard, InterviewerAgent, Quickness, Said
from interviewer.voice.audio_io import INPUT_RATE, OUTPUT_RATE
from interviewer.voice.conducting import ConductorDriver, Spoken, TurnClock, open_conductor
from interviewer.voice.controls import SessionControls
from interviewer.voice.input_gate import GatedAudioInput
from interviewer.voice.models import VoiceModels, turn_handling
from interviewer.voice.options import VoiceOptions
from interviewer.voice.presynthesis import Presynthesis
from interviewer.voice.recording import (
    INTERVIEWER,
    PARTICIPANT,
    ChannelRecorder,
    ChunkWriter,
    RecordedAudioInput,
    RecordedAudioOutput,
    RecordingStore,
    Timeline,
)
from interviewer.voice.speculation import Speculator
from protocols import Study
from storage.blobs import BlobStore
from storage.db import transaction
from storage.models import Interview, utcnow

log = logging.getLogger(__name__)

TICK_S = 0.25
Attach = Callable[[AgentSession], Awaitable[None]]
"""Installs a transport's audio input and output on the session (``session.input.audio`` and
``session.output.audio``) before it starts."""


@dataclass
class VoiceRuntime:
    """What every interview session of one process shares."""

    options: VoiceOptions
    session_factory: sessionmaker[Session]
    blobs: BlobStore
    study: Study
    models: VoiceModels
    llm: LLMClient
    on_finished: Callable[[int], object] | None = None
    """Called with the interview's id once an interview has ended and its recordings are stored
    (the wiring passes ``voxbank.tasks.transcription_on_finish`` here)."""
    conductor: ConductorOptions = field(default_factory=ConductorOptions)
    """How each interview's conductor chooses follow-ups (from the settings, by the wiring)."""


@dataclass(frozen=True)
class Played:
    """An interviewer utterance as the participant heard it (unix times; None when it never played)."""

    seq: int | None
    kind: str
    question_id: str | None
    text: str
    started_at: float | None
    stopped_at: float | None
    interrupted: bool
    latency_ms: float | None
    """End of the participant's speech to the first audio they heard after it (an acknowledgement
    included), for a reply's first utterance (and for an acknowledgement)."""
    reply_latency_ms: float | None = None
    """End of the participant's speech to this utterance's own first audio, for a reply's first utterance."""


@dataclass
class SessionLog:
    """What happened in a session, in order (for transports, tests and pilots)."""

    played: list[Played] = field(default_factory=list)
    heard: list[Heard] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self) -> None:
        self.changed.set()

    async def wait_for(self, predicate: Callable[[SessionLog], bool], timeout: float) -> None:
        """Wait until ``predicate(self)`` holds; TimeoutError after ``timeout`` seconds."""
        async def watch() -> None:
            while not predicate(self):
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(watch(), timeout)


class InterviewSession:
    """One interview, spoken over one transport until the interview ends or the connection goes."""

    _counted_active = False
    """Whether this session counts in ``voxbank_interviews_active`` (from a successful start to its close)."""

    def __init__(self, runtime: VoiceRuntime, attach: Attach, *, interview_id: int | None = None,
                 visit_id: int | None = None, guide_id: str | None = None,
                 on_said: Callable[[Said], None] | None = None,
                 on_played: Callable[[Played], None] | None = None,
                 on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.runtime = runtime
        self._attach = attach
        self._interview_id = interview_id
        self._visit_id = visit_id
        self._guide_id = guide_id
        self._on_said = on_said
        self._on_played = on_played
        self._on_message = on_message
        self.controls: SessionControls | None = None
        """Pause, resume, end and the page's state messages (`interviewer.voice.controls`), once started."""
        self.agent: InterviewerAgent | None = None
        self.log = SessionLog()
        self.session: AgentSession | None = None
        self.output: RecordedAudioOutput | None = None
        self.driver: ConductorDriver | None = None
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        self._recorders: list[ChannelRecorder] = []
        self._writer: ChunkWriter | None = None
        self._store: RecordingStore | None = None
        self._recording_ids: list[int] = []
        self._timeline: Timeline | None = None
        self._clock: TurnClock | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._finishing: asyncio.Task[None] | None = None
        self.presynthesis: Presynthesis | None = None
        self._acknowledged_at: dict[float, float] = {}
        """When an acknowledgement began, by the end of the speech it answered (unix times)."""

    @property
    def interview_id(self) -> int:
        assert self.driver is not None, "start() first"
        return self.driver.interview_id

    @property
    def done(self) -> bool:
        """Whether the interview has ended (completed or stopped)."""
        return self.driver is not None and self.driver.done

    async def start(self) -> int:
        """Open the interview, start recording and the agent; returns the interview's id.

        Raises `InterviewUnavailable` when the interview has ended; on any failure, what was
        started is stopped again.
        """
        conductor = await asyncio.to_thread(self._open_conductor, self._interview_id)
        self.driver = ConductorDriver(conductor, reload=partial(self._open_conductor, conductor.interview_id),
                                      heard=partial(self._heard_already, conductor.interview_id),
                                      decision_deadline_s=self.runtime.options.decision_deadline_s)
        try:
            await self._start(conductor.interview_id)
        except BaseException:
            self.close_reason = self.close_reason or "failed to start"
            await self.aclose(self.close_reason)
            raise
        log.info("voice session started", extra={"interview_id": conductor.interview_id})
        metrics.INTERVIEWS_ACTIVE.inc()
        self._counted_active = True
        return conductor.interview_id

    async def _start(self, interview_id: int) -> None:
        runtime = self.runtime
        assert self.driver is not None
        started_at = await asyncio.to_thread(self._started_at, interview_id)
        self._timeline = Timeline.since(started_at)
        self._clock = TurnClock(runtime.session_factory, interview_id)
        self._store = RecordingStore(runtime.session_factory, runtime.blobs, interview_id)
        self._writer = ChunkWriter(self._store)
        self._writer.start()

        session = self.session = AgentSession(
            vad=runtime.models.vad,                      # Silero: speech stretches, barge-in
            stt=runtime.models.stt,                      # faster-whisper, off the event loop
            tts=runtime.models.tts,                      # Piper (or an OpenAI-compatible endpoint)
            turn_handling=turn_handling(runtime.options),
            user_away_timeout=runtime.options.still_there_s,  # then the guide's "are you still there?"
        )
        await self._attach(session)
        if session.input.audio is None or session.output.audio is None:
            raise RuntimeError("the transport attached no audio input or output")
        gate = GatedAudioInput(session.input.audio)
        participant = await self._recorder(PARTICIPANT, INPUT_RATE)
        interviewer = await self._recorder(INTERVIEWER, session.output.audio.sample_rate or OUTPUT_RATE)
        session.input.audio = RecordedAudioInput(gate, participant, self._timeline)
        self.output = RecordedAudioOutput(session.output.audio, interviewer, self._timeline)
        session.output.audio = self.output
        session.on("close", self._on_close)
        self._ticker = asyncio.create_task(self._tick(), name="voxbank.voice.tick")
        self.controls = SessionControls(self, session, gate, self._on_message or (lambda message: None))
        # connected again: a pause for want of a participant ends here
        await asyncio.to_thread(presence.resume, runtime.session_factory, interview_id, "connected")
        agent = self.agent = InterviewerAgent(self.driver, on_said=self._follow, on_heard=self._heard,
                                              quickness=self._quickness(session))
        await session.start(agent, record=False)
        recap = await asyncio.to_thread(presence.last_reply_heard, runtime.session_factory, interview_id)
        self.controls.started(recap)

    def say_spoken(self, spoken: Spoken) -> None:
        """Say a reply the conductor gave outside a participant's turn (the End button's closing)."""
        assert self.agent is not None, "start() first"
        self.agent._say(spoken, None)

    def _quickness(self, session: AgentSession) -> Quickness:
        options = self.runtime.options
        assert self.driver is not None
        driver = self.driver
        words = tuple(driver.conductor.guide.acknowledgements) if options.acknowledge_after_s is not None else ()
        if options.presynthesis:
            self.presynthesis = Presynthesis(self.runtime.models.tts)
            self.presynthesis.prepare(words)
        speculator = None
        if options.speculative_decision:
            speculator = Speculator(session, speculate=driver.speculate, drop=driver.drop_speculation)
        return Quickness(presynthesis=self.presynthesis, acknowledgements=words,
                         acknowledge_after_s=options.acknowledge_after_s,
                         on_turn_ended=speculator.turn_ended if speculator is not None else None)

    async def wait(self) -> str | None:
        """Until the session has closed and everything is stored; returns why it closed."""
        await self.closed.wait()
        return self.close_reason

    async def aclose(self, reason: str = "closed") -> None:
        """End the session (the interview stays resumable) and store what remains."""
        if self.close_reason is None:
            self.close_reason = reason
        if self.session is not None:
            await self.session.aclose()
        await self._finish()

    def _finish(self) -> asyncio.Task[None]:
        if self._finishing is None:
            self._finishing = asyncio.create_task(self._store_the_rest(), name="voxbank.voice.finish")
        return self._finishing

    # ------------------------------------------------------------------ internals

    def _open_conductor(self, interview_id: int | None) -> Conductor:
        runtime = self.runtime
        return open_conductor(runtime.session_factory, runtime.study, runtime.llm, interview_id=interview_id,
                              visit_id=self._visit_id, guide_id=self._guide_id, options=runtime.conductor)

    def _heard_already(self, interview_id: int) -> bool:
        return presence.last_reply_heard(self.runtime.session_factory, interview_id) is not None

    def _started_at(self, interview_id: int) -> datetime:
        """The timeline's origin: when the interview started (stamped now if it never was)."""
        with transaction(self.runtime.session_factory) as session:
            interview = session.get(Interview, interview_id)
            assert interview is not None
            if interview.started_at is None:
                interview.started_at = utcnow()
            return interview.started_at

    async def _recorder(self, channel: str, rate: int) -> ChannelRecorder:
        assert self._store is not None and self._writer is not None
        recording_id, index, stored_rate = await asyncio.to_thread(self._store.open_channel, channel, rate)
        self._recording_ids.append(recording_id)
        recorder = ChannelRecorder(channel=channel, recording_id=recording_id, next_index=index,
                                   sample_rate=stored_rate, chunk_s=self.runtime.options.chunk_s,
                                   writer=self._writer)
        self._recorders.append(recorder)
        return recorder

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            if self.output is not None:
                self.output.tick()
            for recorder in self._recorders:
                recorder.commit_if_idle()

    def _heard(self, heard: Heard) -> None:
        self.log.heard.append(heard)
        self.log.note()
        if heard.seq is not None and heard.started_at is not None and heard.stopped_at is not None:
            assert self._timeline is not None
            self._in_thread(self._place, heard.seq, self._timeline.at(heard.started_at),
                            self._timeline.at(heard.stopped_at), None)

    def _follow(self, said: Said, handle: SpeechHandle) -> None:
        if self._on_said is not None:
            self._on_said(said)
        if self.controls is not None:
            self.controls.said(said.utterance)
        handle.add_done_callback(partial(self._played, said))

    def _played(self, said: Said, handle: SpeechHandle) -> None:
        message = next((item for item in handle.chat_items if isinstance(item, llm.ChatMessage)), None)
        metrics = message.metrics if message is not None else {}
        started, stopped = metrics.get("started_speaking_at"), metrics.get("stopped_speaking_at")
        latency = reply_latency = None
        answer = said.answers
        if started is not None and answer is not None and answer.stopped_at is not None:
            reply_latency = (started - answer.stopped_at) * 1000
            first = started
            if said.utterance.kind == ACKNOWLEDGEMENT:
                self._acknowledged_at[answer.stopped_at] = started
            else:
                first = min(started, self._acknowledged_at.pop(answer.stopped_at, started))
            latency = (first - answer.stopped_at) * 1000
        played = Played(said.seq, said.utterance.kind, said.utterance.question_id, said.utterance.text, started,
                        stopped, handle.interrupted, latency, reply_latency)
        self.log.played.append(played)
        self.log.note()
        if self._on_played is not None:
            self._on_played(played)
        assert self._timeline is not None
        if said.seq is not None:
            # an utterance that never played is placed, empty, where it would have started
            start = self._timeline.at(started) if started is not None else self._timeline.now()
            end = self._timeline.at(stopped) if stopped is not None else start
            self._in_thread(self._place, said.seq, start, end, latency, clear=said.answers is None)
            if started is not None and not handle.interrupted:
                self._in_thread(presence.mark_heard, self.runtime.session_factory, self.interview_id, said.seq)
        if said.last:
            self.close_reason = "completed"
            asyncio.create_task(self.aclose("completed"), name="voxbank.voice.completed")

    def _place(self, seq: int, start: float, end: float, latency: float | None, clear: bool = False) -> None:
        assert self._clock is not None
        self._clock.place(seq, start_s=start, end_s=end, latency_ms=latency, clear_latency=clear)

    def _in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        future = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        future.add_done_callback(_log_failure)

    def _on_close(self, event: CloseEvent) -> None:
        if self.close_reason is None:
            self.close_reason = getattr(event.reason, "value", str(event.reason))
        if event.error is not None:
            log.error("voice session closed on an error", extra={"interview_id": self.interview_id,
                                                                 "error": str(event.error)})
        self._finish()

    async def _store_the_rest(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self.presynthesis is not None:
            await self.presynthesis.aclose()
        if self.output is not None:
            self.output.tick()
        for recorder in self._recorders:
            recorder.commit()
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.drain()
            assert self._store is not None
            complete = self.done
            for recording_id in self._recording_ids:
                try:
                    await asyncio.to_thread(self._store.finish, recording_id, complete=complete)
                except Exception:
                    log.exception("a recording could not be registered", extra={"recording_id": recording_id})
        if self.driver is not None:
            self.driver.close()
            if self.done and self.runtime.on_finished is not None:
                await self._hand_on(self.driver.interview_id)
        log.info("voice session closed", extra={"interview_id": self.driver.interview_id if self.driver else None,
                                                "reason": self.close_reason})
        if self._counted_active:
            metrics.INTERVIEWS_ACTIVE.dec()
            self._counted_active = False
        self.closed.set()

    async def _hand_on(self, interview_id: int) -> None:
        """Run the on-finished hook; a failure (broker down) is logged, never raised: the interview and
        its recordings are stored, and staff can queue the transcription with ``voxbank transcribe``."""
        assert self.runtime.on_finished is not None
        try:
            await asyncio.to_thread(self.runtime.on_finished, interview_id)
        except Exception:
            log.exception("the finished interview could not be handed on", extra={"interview_id": interview_id})


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("could not place a turn on the timeline", exc_info=future.exception())

