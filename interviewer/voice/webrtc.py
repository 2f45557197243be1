"""The embedded transport: the browser talks straight to this server over WebRTC (aiortc).

No LiveKit server: the interview page makes an ``RTCPeerConnection`` with its microphone track
and a ``voxbank`` data channel, gathers its candidates, and POSTs the SDP offer to the web app
(`EmbeddedVoice.answer`); the answer comes back in the response. Then:

* the browser's microphone track is decoded, resampled to 16 kHz mono and pushed into the
  session's `PushAudioInput`;
* the interviewer's audio leaves through `InterviewerTrack`, whose ``recv`` (called by aiortc's
  RTP sender every 20 ms) pulls the next 20 ms from the session's `PacedAudioOutput`: what the
  track sends is exactly what counts as played;
* the data channel carries captions as each utterance is queued (``{"type": "caption", "text":
  ...}``) and the end (``{"type": "ended", "status": "completed" | "unavailable" | "failed"}``).

One `EmbeddedCall` per connection runs `InterviewSession`s until the interview ends or the
connection is lost. A session that dies on an error while the browser is still connected is
replaced by a new one resumed from the conductor's checkpoint. A browser that reconnects (a reload,
a network change) posts a new offer: the visit's old call is closed and a new one resumes the same
interview, appending to the same recordings.

ICE uses host candidates only (no STUN or TURN server is contacted): the browser must reach this
machine's address directly, as on one machine or a LAN. Across the internet, use LiveKit.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from livekit.agents import AgentSession

from interviewer.voice import presence
from interviewer.voice.agent import Said
from interviewer.voice.audio_io import FRAME_S, INPUT_RATE, OUTPUT_RATE, PacedAudioOutput, PushAudioInput, pcm_frame
from interviewer.voice.conducting import InterviewUnavailable
from interviewer.voice.controls import COMMANDS
from interviewer.voice.session import InterviewSession, VoiceRuntime

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 20.0
"""A peer that has not connected this long after its offer is closed (it holds ICE and DTLS state)."""
HANG_UP_GRACE_S = 10.0
"""After the interview has ended, how long the browser has to hang up before the peer is closed."""
MAX_CALLS = 8
"""Calls one process carries at once, unless told otherwise."""
RESTARTS = 3
"""How many times a call replaces a session that died on an error before it gives up."""
MAX_MESSAGE_CHARS = 200
"""A control message from the page is a small JSON object; anything longer is ignored."""


class VoiceBusy(RuntimeError):
    """The process already carries as many calls as it may."""


class OpenElsewhere(RuntimeError):
    """The visit's interview is connected in another tab or on another device (move it with ``take_over``)."""


class InterviewerTrack(MediaStreamTrack):
    """The interviewer's voice as an outgoing WebRTC audio track, paced in real time."""

    kind = "audio"

    def __init__(self, output: Callable[[], PacedAudioOutput | None], sample_rate: int = OUTPUT_RATE) -> None:
        super().__init__()
        self._output = output
        self._rate = sample_rate
        self._samples = round(FRAME_S * sample_rate)
        self._start: float | None = None
        self._pts = 0
        self.sent_audio_s = 0.0
        """Seconds of interviewer audio (not silence) this track has sent."""

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += self._samples
            wait = self._start + self._pts / self._rate - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        output = self._output()
        data = output.pull(self._samples) if output is not None else bytes(2 * self._samples)
        if output is not None and any(data):
            self.sent_audio_s += FRAME_S
        frame = av.AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(data)
        frame.pts = self._pts
        frame.sample_rate = self._rate
        frame.time_base = fractions.Fraction(1, self._rate)
        return frame


@dataclass
class EmbeddedCall:
    """One browser connection and the interview sessions it carries."""

    runtime: VoiceRuntime
    visit_id: int | None
    interview_id: int | None = None
    guide_id: str | None = None
    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[])))
    microphone: PushAudioInput | None = None
    speaker: PacedAudioOutput | None = None
    session: InterviewSession | None = None
    status: str = "connecting"
    """connecting, running, completed, ended (unavailable), lost (connection gone), failed, timed_out."""
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    sessions_started: int = 0
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    on_done: Callable[[EmbeddedCall], object] | None = None
    tab: str | None = None
    """The browser tab's own id (kept across its reloads): a reload of the same tab takes over its call."""

    def __post_init__(self) -> None:
        self.track = InterviewerTrack(lambda: self.speaker)
        self._channel: Any = None
        self._pending_messages: list[str] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("connectionstatechange", self._on_state)

    async def answer(self, sdp: str, kind: str = "offer") -> RTCSessionDescription:
        """Take the browser's offer; return the answer (candidates included) and start the interview."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        self.pc.addTrack(self.track)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        description = self.pc.localDescription
        self._tasks.append(asyncio.create_task(self._run(), name="voxbank.embedded.call"))
        return description

    @property
    def live(self) -> bool:
        """Whether a browser is (or is about to be) connected to this call."""
        return self.status in ("connecting", "running") and not self.lost.is_set()

    async def move_away(self) -> None:
        """Hang up because the interview moved to another tab or device: the page is told, and does not reconnect."""
        self._send({"type": "moved"})
        await asyncio.sleep(0.2)  # let the message leave before the channel closes
        await self.close()

    async def close(self) -> None:
        """Hang up: end the session (the interview stays resumable) and the peer connection."""
        self.lost.set()
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.session is not None:
            await self.session.aclose("participant_disconnected")
        self.track.stop()
        await self.pc.close()

    # ------------------------------------------------------------------ the interview

    async def _run(self) -> None:
        try:
            await self._run_when_connected()
            if self.status in ("completed", "ended", "failed"):
                # let the browser read the "ended" message and hang up itself, then release the peer anyway
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.lost.wait(), HANG_UP_GRACE_S)
            self.track.stop()
            await self.pc.close()
        finally:
            if self.on_done is not None:
                self.on_done(self)

    async def _run_when_connected(self) -> None:
        # Nothing (models, interview, recording) starts for a peer that never connects: it is closed.
        try:
            await asyncio.wait_for(self.connected.wait(), self.connect_timeout_s)
        except TimeoutError:
            log.info("a WebRTC peer did not connect in time; closing it", extra={"visit_id": self.visit_id})
            self.status = "timed_out"
            self.lost.set()
            return
        await self._run_sessions()

    async def _run_sessions(self) -> None:
        failures = 0
        while not self.lost.is_set():
            self.microphone = PushAudioInput(label="browser microphone (WebRTC)")
            self.speaker = PacedAudioOutput(label="browser speaker (WebRTC)")
            session = self.session = InterviewSession(self.runtime, self._attach, interview_id=self.interview_id,
                                                      visit_id=self.visit_id, guide_id=self.guide_id,
                                                      on_said=self._said, on_message=self._send)
            try:
                self.interview_id = await session.start()
            except InterviewUnavailable:
                self.status = "ended"
                self._send({"type": "ended", "status": "unavailable"})
                return
            except Exception:
                log.exception("the voice session could not start", extra={"interview_id": self.interview_id})
                self.status = "failed"
                self._send({"type": "ended", "status": "failed"})
                return
            self.sessions_started += 1
            self.status = "running"
            lost = asyncio.ensure_future(self.lost.wait())
            closed = asyncio.ensure_future(session.wait())
            await asyncio.wait({lost, closed}, return_when=asyncio.FIRST_COMPLETED)
            lost.cancel()
            if not closed.done():
                closed.cancel()
                await session.aclose("participant_disconnected")
                self.status = "lost"
                return
            if session.done:
                self.status = "completed"
                stopped = session.controls is not None and session.controls.ending
                self._send({"type": "ended", "status": "stopped" if stopped else "completed"})
                return
            failures += 1
            log.warning("the voice session closed while the browser is connected; resuming the interview",
                        extra={"interview_id": self.interview_id, "reason": session.close_reason,
                               "failures": failures})
            if failures > RESTARTS:
                self.status = "failed"
                self._send({"type": "ended", "status": "failed"})
                return

    async def _attach(self, session: AgentSession) -> None:
        session.input.audio = self.microphone
        session.output.audio = self.speaker

    def _said(self, said: Said) -> None:
        self._send({"type": "caption", "speaker": "interviewer", "text": said.utterance.text,
                    "kind": said.utterance.kind})

    # ------------------------------------------------------------------ the connection

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.append(asyncio.create_task(self._listen(track), name="voxbank.embedded.microphone"))

    async def _listen(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=INPUT_RATE)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                break
            if not isinstance(frame, av.AudioFrame):
                continue
            for piece in resampler.resample(frame):
                if self.microphone is not None:
                    self.microphone.push(pcm_frame(piece.to_ndarray().tobytes(), INPUT_RATE))
        self.lost.set()

    def _on_datachannel(self, channel: Any) -> None:
        self._channel = channel
        channel.on("message", self._on_message)
        for message in self._pending_messages:
            channel.send(message)
        self._pending_messages = []

    def _on_message(self, raw: Any) -> None:
        """A control message from the page (pause, resume, end): handed to the session's controls."""
        if not isinstance(raw, str) or len(raw) > MAX_MESSAGE_CHARS:
            return
        try:
            message = json.loads(raw)
        except ValueError:
            return
        controls = self.session.controls if self.session is not None else None
        if not isinstance(message, dict) or message.get("type") not in COMMANDS or controls is None:
            return
        task = asyncio.create_task(controls.handle(message), name="voxbank.embedded.control")
        self._tasks.append(task)
        task.add_done_callback(_log_control_failure)

    def _send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        if self._channel is not None and self._channel.readyState == "open":
            self._channel.send(text)
        else:
            self._pending_messages.append(text)

    async def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()
        if self.pc.connectionState in ("failed", "closed"):
            self.lost.set()


class EmbeddedVoice:
    """The embedded transport's calls in one process: at most one per visit."""

    def __init__(self, runtime: VoiceRuntime, *, max_calls: int = MAX_CALLS,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.runtime = runtime
        self.max_calls = max_calls
        self.connect_timeout_s = connect_timeout_s
        self.calls: dict[int | None, EmbeddedCall] = {}
        self._lock = asyncio.Lock()
        self._watchers: set[asyncio.Task[None]] = set()

    async def answer(self, sdp: str, *, visit_id: int | None, interview_id: int | None = None,
                     guide_id: str | None = None, tab: str | None = None,
                     take_over: bool = False) -> tuple[EmbeddedCall, RTCSessionDescription]:
        """Answer a browser's offer for a visit; a previous connection of the same visit is closed first.

        `OpenElsewhere` when another tab or device (another ``tab``) is connected to the visit and
        ``take_over`` is not set; with it, that one is told the interview moved and hung up. The same
        tab (a reload) takes over its own call. `VoiceBusy` when the process already carries
        ``max_calls`` other calls.
        """
        async with self._lock:
            previous = self.calls.get(visit_id)
            if previous is not None and previous.live and not take_over and (tab is None or previous.tab != tab):
                raise OpenElsewhere("this interview is open in another tab or on another device")
            self.calls.pop(visit_id, None)
            if previous is not None:
                if previous.tab != tab:
                    await previous.move_away()
                else:
                    await previous.close()
            if len(self.calls) >= self.max_calls:
                raise VoiceBusy(f"{len(self.calls)} calls in progress, the most this process carries")
            call = EmbeddedCall(self.runtime, visit_id, interview_id=interview_id, guide_id=guide_id,
                                connect_timeout_s=self.connect_timeout_s, on_done=self._forget, tab=tab)
            self.calls[visit_id] = call
        description = await call.answer(sdp)
        return call, description

    def _forget(self, call: EmbeddedCall) -> None:
        """Drop a finished call (timed out, ended, lost) so that it no longer counts against the cap."""
        if self.calls.get(call.visit_id) is call:
            del self.calls[call.visit_id]
        if call.status == "lost" and call.interview_id is not None:
            watcher = asyncio.create_task(self._watch_away(call.visit_id, call.interview_id),
                                          name="voxbank.embedded.away")
            self._watchers.add(watcher)
            watcher.add_done_callback(self._watchers.discard)

    async def _watch_away(self, visit_id: int | None, interview_id: int) -> None:
        """No participant is connected: pause the interview now, and mark it abandoned if nobody comes back."""
        factory = self.runtime.session_factory
        if visit_id in self.calls:
            return  # already back (a reload)
        await asyncio.to_thread(presence.pause, factory, interview_id, "disconnected")
        await asyncio.sleep(self.runtime.options.abandon_after_s)
        if visit_id not in self.calls:
            await asyncio.to_thread(presence.abandon_if_away, factory, interview_id,
                                    self.runtime.options.abandon_after_s)

    async def end(self, visit_id: int) -> bool:
        """Hang up the visit's call, if it has one (the participant withdrew); returns whether there was one."""
        async with self._lock:
            call = self.calls.pop(visit_id, None)
        if call is None:
            return False
        await call.close()
        return True

    async def aclose(self) -> None:
        """Close every call (at shutdown)."""
        async with self._lock:
            calls, self.calls = list(self.calls.values()), {}
        for call in calls:
            await call.close()
        for watcher in list(self._watchers):
            watcher.cancel()


def _log_control_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a control message from the page failed", exc_info=task.exception())
