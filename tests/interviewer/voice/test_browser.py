"""A real browser joins an interview over the embedded WebRTC transport.

Headless Chromium (Debian's, with a fake microphone playing a WAV: silence while the interviewer
speaks, then a spoken answer) opens the interview page of a real uvicorn app on a free port, presses
"Start", hears the first question, answers, and the answer's transcript and both recording channels
land in the database. Nothing is downloaded: Playwright drives /usr/bin/chromium.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription.merge import word_error_rate
from interviewer.voice.audio_io import INPUT_RATE
from interviewer.voice.session import VoiceRuntime
from interviewer.voice.webrtc import EmbeddedVoice
from storage.models import Participant, Recording, RecordingChunk, Study, Turn
from tests.interviewer.voice.helpers import ANSWER, admitted_visit, write_fake_microphone
from voxbank.settings import Settings
from voxbank.wiring import web_app
from web.capability import Signer, cookie_name
from web.routes import interview

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
LEAD_SILENCE_S = 10.0  # the intro and the first question take about five seconds to say


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class LiveServer:
    """The app served by uvicorn in a thread, on a free port."""

    def __init__(self, app: FastAPI) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="uvicorn")

    def __enter__(self) -> LiveServer:
        self.thread.start()
        _wait(lambda: self.server.started, 30, "uvicorn to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True  # the lifespan closes the open calls: their recordings are stored
        self.thread.join(timeout=60)


@pytest.fixture
def fake_microphone(tmp_path: Path, speak_text) -> Path:  # type: ignore[no-untyped-def]
    """Silence, the spoken answer, then silence, at 48 kHz (played once by Chromium's fake device)."""
    return write_fake_microphone(tmp_path / "microphone.wav", speak_text(ANSWER), INPUT_RATE,
                                 lead_s=LEAD_SILENCE_S, tail_s=60)


@pytest.fixture
def app(runtime: VoiceRuntime, llm_settings: Settings, tiny_study) -> Iterator[FastAPI]:  # type: ignore[no-untyped-def]
    """The web app with the interview router, its embedded transport on the test's runtime."""
    app = web_app(llm_settings, study=tiny_study)
    if not any(getattr(route, "path", "") == "/study/{slug}/interview" for route in app.routes):
        app.include_router(interview.router)
    app.state.embedded_voice = EmbeddedVoice(runtime)
    yield app


def _participant(factory: sessionmaker[Session]) -> tuple[int, str, int]:
    with factory() as session, session.begin():
        study = session.scalars(select(Study)).one()
        participant = Participant(study_id=study.id, prolific_pid=uuid.uuid4().hex[:24],
                                  pseudonym_id=str(uuid.uuid4()), status="active")
        session.add(participant)
        session.flush()
        visit = admitted_visit(session, participant)
        return participant.id, participant.pseudonym_id, visit.id


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium at /usr/bin/chromium")
def test_a_browser_hears_the_first_question_answers_and_both_channels_are_recorded(
        app: FastAPI, runtime: VoiceRuntime, llm_settings: Settings, session_factory: sessionmaker[Session],
        fake_microphone: Path) -> None:
    from playwright.sync_api import sync_playwright

    slug = app.state.runtime.slug
    with LiveServer(app) as live, sync_playwright() as playwright:
        participant_id, pseudonym, visit_id = _participant(session_factory)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
            "--no-first-run", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={fake_microphone}%noloop", "--autoplay-policy=no-user-gesture-required",
        ])
        context = browser.new_context()
        signer = Signer(llm_settings.secret_key.get_secret_value())
        context.add_cookies([{"name": cookie_name(slug), "url": f"{live.url}/study/{slug}/",
                              "value": signer.capability(slug, participant_id, pseudonym, visit_id)}])
        page = context.new_page()
        page.goto(f"{live.url}/study/{slug}/interview")
        assert page.locator("#interview").get_attribute("data-mode") == "embedded"
        page.click("#interview-start")

        # The first question reaches the browser: its caption, then its audio on the peer connection.
        page.wait_for_function("() => window.voxbankInterview.captions.includes('Where did you grow up?')",
                               timeout=60_000)
        voice: EmbeddedVoice = app.state.embedded_voice
        call = voice.calls[visit_id]
        _wait(lambda: call.track.sent_audio_s > 3.0, 60, "the intro and the first question to be sent")
        received = page.evaluate("""async () => {
            const stats = await window.voxbankInterview.pc.getStats();
            let bytes = 0;
            stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') bytes += s.bytesReceived; });
            return bytes; }""")
        assert received > 10_000
        interview_id = call.interview_id
        assert interview_id is not None
        with session_factory() as session:
            first = session.scalars(select(Turn).where(Turn.interview_id == interview_id, Turn.seq == 1)).one()
            assert (first.speaker, first.question_id, first.text) == ("interviewer", "grew_up",
                                                                      "Where did you grow up?")

        # The answer is heard, transcribed and stored; the next question comes back.
        def answer_turn() -> Turn | None:
            with session_factory() as session:
                return session.scalars(select(Turn).where(Turn.interview_id == interview_id,
                                                          Turn.speaker == "participant")).first()

        answer = _wait(answer_turn, 90, "the participant's answer to be stored")
        assert isinstance(answer, Turn)
        assert answer.question_id == "grew_up"
        assert word_error_rate(ANSWER, answer.text) <= 0.35, answer.text
        page.wait_for_function("() => window.voxbankInterview.captions.includes('What do you do for work?')",
                               timeout=60_000)
        browser.close()

    # The server has stopped: the call was closed and both channels registered.
    assert call.status in ("lost", "running")
    with session_factory() as session:
        recordings = {r.channel: r for r in session.scalars(select(Recording)
                                                              .where(Recording.interview_id == interview_id))}
        assert sorted(recordings) == ["interviewer", "participant"]
        for recording in recordings.values():
            chunks = list(session.scalars(select(RecordingChunk).where(RecordingChunk.recording_id == recording.id)))
            assert chunks, recording.channel
            assert recording.sha256 is not None and recording.duration_s > 5.0
        turns = list(session.scalars(select(Turn).where(Turn.interview_id == interview_id).order_by(Turn.seq)))
        assert [t.question_id for t in turns if t.speaker == "interviewer"][:3] == [None, "grew_up", "work"]
        assert turns[3].response_latency_ms is not None
