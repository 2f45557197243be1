"""The embedded WebRTC transport with a Python peer (aiortc on both ends, host candidates only): a session
that dies while the browser stays connected is replaced by one resumed from the conductor's checkpoint."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.voice.session import VoiceRuntime
from interviewer.voice.webrtc import EmbeddedVoice
from storage.models import AuditEvent, Interview, Turn

pytestmark = pytest.mark.slow
QUESTION = "Where did you grow up?"


async def _until(condition: Any, timeout: float, what: str) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.1)
    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def test_a_session_that_dies_while_connected_is_replaced_and_resumes(
        runtime: VoiceRuntime, session_factory: sessionmaker[Session]) -> None:
    async def scenario() -> tuple[list[dict[str, str]], int, int, int | None, float]:
        voice = EmbeddedVoice(runtime)
        browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        browser.addTrack(AudioStreamTrack())  # a silent microphone
        channel = browser.createDataChannel("voxbank")
        messages: list[dict[str, str]] = []
        channel.on("message", lambda text: messages.append(json.loads(text)))
        heard = {"frames": 0}

        async def listen(track: Any) -> None:
            while True:
                try:
                    await track.recv()
                except MediaStreamError:
                    return
                heard["frames"] += 1

        browser.on("track", lambda track: asyncio.ensure_future(listen(track)))
        await browser.setLocalDescription(await browser.createOffer())
        call, answer = await voice.answer(browser.localDescription.sdp, visit_id=None)
        await browser.setRemoteDescription(answer)
        asked = lambda: sum(m.get("text") == QUESTION for m in messages)  # noqa: E731
        await _until(lambda: asked() >= 1, 60, "the first question's caption")
        # the session dies during the intro: what was not heard to its end is said again
        await _until(lambda: call.track.sent_audio_s > 1.0, 60, "the intro to be under way")
        first_interview = call.interview_id

        assert call.session is not None and call.session.session is not None
        await call.session.session.aclose()  # the session dies; the peer connection does not
        await _until(lambda: call.sessions_started == 2 and asked() >= 2, 60, "the resumed session to ask again")
        sent = call.track.sent_audio_s
        await _until(lambda: call.track.sent_audio_s > sent + 2.0, 60, "the resumed session to speak")
        sent = call.track.sent_audio_s
        await voice.aclose()
        await browser.close()
        return messages, call.sessions_started, heard["frames"], first_interview, sent

    messages, sessions, frames, interview_id, sent = asyncio.run(scenario())
    assert sessions == 2
    assert [m["text"] for m in messages if m["type"] == "caption"][:2] == [
        "Hello, I'm Isabella. Thank you for joining me.", QUESTION]
    assert frames > 100 and sent > 3.0  # a second of the first intro, two of the repeated one
    with session_factory() as session:
        stored = session.scalar(select(func.count()).select_from(Turn).where(Turn.interview_id == interview_id))
    assert stored == 2  # the resumed session repeated the open question without storing it again


def test_peers_that_never_connect_are_closed_and_a_full_process_says_busy(runtime: VoiceRuntime) -> None:
    from interviewer.voice.webrtc import VoiceBusy

    async def offer() -> tuple[RTCPeerConnection, str]:
        browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        browser.addTrack(AudioStreamTrack())
        browser.createDataChannel("voxbank")
        await browser.setLocalDescription(await browser.createOffer())
        return browser, browser.localDescription.sdp

    async def scenario() -> tuple[list[str], list[str], bool, int]:
        voice = EmbeddedVoice(runtime, max_calls=2, connect_timeout_s=1.0)
        browsers, calls = [], []
        for visit in (1, 2):  # offers whose browsers never take the answer: they can never connect
            browser, sdp = await offer()
            browsers.append(browser)
            calls.append((await voice.answer(sdp, visit_id=visit))[0])
        third, sdp = await offer()
        try:
            await voice.answer(sdp, visit_id=3)
            busy = False
        except VoiceBusy:
            busy = True
        await _until(lambda: not voice.calls, 10, "the unconnected peers to be closed")
        states = [call.pc.connectionState for call in calls]
        statuses = [call.status for call in calls]
        started = sum(call.sessions_started for call in calls)
        for browser in (*browsers, third):
            await browser.close()
        await voice.aclose()
        return states, statuses, busy, started

    states, statuses, busy, started = asyncio.run(scenario())
    assert busy, "a third call over the cap of two is refused"
    assert statuses == ["timed_out", "timed_out"]
    assert states == ["closed", "closed"]
    assert started == 0, "nothing (no interview, no recording) started for a peer that never connected"


def test_an_interview_whose_browser_goes_is_paused_and_then_marked_abandoned(
        runtime: VoiceRuntime, session_factory: sessionmaker[Session]) -> None:
    runtime.options = dataclasses.replace(runtime.options, abandon_after_s=1.0)

    async def scenario() -> int | None:
        voice = EmbeddedVoice(runtime)
        browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        browser.addTrack(AudioStreamTrack())
        channel = browser.createDataChannel("voxbank")
        messages: list[dict[str, str]] = []
        channel.on("message", lambda text: messages.append(json.loads(text)))
        await browser.setLocalDescription(await browser.createOffer())
        call, answer = await voice.answer(browser.localDescription.sdp, visit_id=None)
        await browser.setRemoteDescription(answer)
        await _until(lambda: any(m.get("text") == QUESTION for m in messages), 60, "the first question")
        await browser.close()  # the tab is closed: no participant is connected any more

        def status() -> tuple[str, bool]:
            with session_factory() as session:
                interview = session.get(Interview, call.interview_id)
                assert interview is not None
                return interview.status, interview.paused_at is not None

        await _until(lambda: status() == ("abandoned", True), 60, "the interview to be marked abandoned")
        await voice.aclose()
        return call.interview_id

    interview_id = asyncio.run(scenario())
    with session_factory() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None and interview.end_reason == "abandoned: no participant connected for 1 seconds"
        target = f"interview:{interview_id}"
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.target == target)))
    assert "interview.paused" in actions and "interview.abandoned" in actions
