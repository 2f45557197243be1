"""The interview page as a participant lives it, in one headless Chromium with a fake microphone.

One interview on the two-question guide: the page shows the interviewer speaking, listening and
thinking; Pause stops the audio and the budget clock (read from the database, not the wall clock)
and Resume goes on; the microphone then sends digital silence and the interviewer asks whether the
participant is still there instead of stalling; a reload resumes without saying the question
again; a second tab is told the interview is open elsewhere and moves it there, and the first tab
does not fight back; End interview stops kindly with the reason recorded, and Continue leads on.

Screenshots go to ``$VOXBANK_SCREENSHOTS`` (else the test's temporary directory).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.voice.audio_io import INPUT_RATE
from interviewer.voice.session import VoiceRuntime
from interviewer.voice.webrtc import EmbeddedVoice
from storage.models import AuditEvent, Interview, Turn, Visit
from tests.interviewer.voice.helpers import write_fake_microphone
from tests.interviewer.voice.test_browser import CHROMIUM, LiveServer, _participant, _wait
from voxbank.settings import Settings
from voxbank.wiring import web_app
from web.capability import Signer, cookie_name
from web.routes import interview

pytestmark = pytest.mark.slow
LEAD_SILENCE_S = 24.0  # connecting, the intro and the first question, the test's pause, with room for a slow CPU
STILL_THERE_S = 3.0
ONE_BREATH_ANSWER = "I grew up in a small town in Ohio near a river"
"""One clause, no pause inside: heard as one turn however the CPU is loaded (a pause between two
sentences can end the turn, and the second sentence is then heard as the answer to the next question)."""
Q1, Q2 = "Where did you grow up?", "What do you do for work?"


@pytest.fixture
def silent_after_answer(tmp_path: Path, speak_text) -> Path:  # type: ignore[no-untyped-def]
    """Digital silence, the spoken answer, then digital silence (a muted microphone), at 48 kHz."""
    return write_fake_microphone(tmp_path / "microphone.wav", speak_text(ONE_BREATH_ANSWER), INPUT_RATE,
                                 lead_s=LEAD_SILENCE_S, tail_s=90)


@pytest.fixture
def app(runtime: VoiceRuntime, llm_settings: Settings, tiny_study) -> Iterator[FastAPI]:  # type: ignore[no-untyped-def]
    """The web app with the interview router; its embedded transport asks "still there?" after 3 s."""
    app = web_app(llm_settings, study=tiny_study)
    if not any(getattr(route, "path", "") == "/study/{slug}/interview" for route in app.routes):
        app.include_router(interview.router)
    quick = dataclasses.replace(runtime, options=dataclasses.replace(runtime.options, still_there_s=STILL_THERE_S))
    app.state.embedded_voice = EmbeddedVoice(quick)
    yield app


def _interview(factory: sessionmaker[Session], interview_id: int) -> Interview:
    with factory() as session:
        row = session.get(Interview, interview_id)
        assert row is not None
        return row


def _interviewer_turns(factory: sessionmaker[Session], interview_id: int) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(Turn.text).where(Turn.interview_id == interview_id,
                                                            Turn.speaker == "interviewer").order_by(Turn.seq)))


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium at /usr/bin/chromium")
def test_the_participant_sees_the_state_pauses_is_asked_if_still_there_reloads_moves_tabs_and_ends(
        app: FastAPI, llm_settings: Settings, session_factory: sessionmaker[Session], silent_after_answer: Path,
        tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("VOXBANK_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    slug = app.state.runtime.slug
    voice: EmbeddedVoice = app.state.embedded_voice
    with LiveServer(app) as live, sync_playwright() as playwright:
        participant_id, pseudonym, visit_id = _participant(session_factory)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
            "--no-first-run", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={silent_after_answer}%noloop",
            "--autoplay-policy=no-user-gesture-required",
        ])
        context = browser.new_context()
        signer = Signer(llm_settings.secret_key.get_secret_value())
        context.add_cookies([{"name": cookie_name(slug), "url": f"{live.url}/study/{slug}/",
                              "value": signer.capability(slug, participant_id, pseudonym, visit_id)}])
        page = context.new_page()
        page.goto(f"{live.url}/study/{slug}/interview")
        # the page's words come from the guide: its interviewer, its length
        assert "Isabella" in page.inner_text("#interview-intro") and "about 5 minutes" in page.inner_text("#interview")
        page.check("#interview-show-captions")
        page.screenshot(path=str(shots / "01-before-start.png"))
        page.click("#interview-start")
        assert not page.is_visible("#interview-start")  # gone once started: nothing looks live that is not

        # --- the interviewer speaks; Pause stops its audio and the budget clock; Resume goes on
        page.wait_for_function("() => window.voxbankInterview.state === 'speaking'", timeout=60_000)
        page.wait_for_function("() => window.voxbankInterview.progress !== null", timeout=10_000)
        assert page.inner_text("#interview-progress").startswith("Part 1 of 1: Life.")
        call = voice.calls[visit_id]
        interview_id = call.interview_id
        assert interview_id is not None
        page.screenshot(path=str(shots / "02-speaking.png"))
        page.click("#interview-pause")
        _wait(lambda: _interview(session_factory, interview_id).paused_at is not None, 10, "the pause to be stored")
        clock_at_pause = _interview(session_factory, interview_id).checkpoint["clock_s"]
        sent_at_pause = call.track.sent_audio_s
        packets = ("() => window.voxbankInterview.pc.getStats().then((stats) => { let n = 0; stats.forEach((s) => {"
                   " if (s.type === 'inbound-rtp' && s.kind === 'audio') n += s.packetsReceived; }); return n; })")
        received = page.evaluate(packets)
        # a second of the track's packets arrives while paused (silence), and no interviewer audio is sent
        _wait(lambda: page.evaluate(packets) > received + 50, 20, "a second of paused audio packets")
        assert call.track.sent_audio_s == sent_at_pause
        assert page.is_visible("#interview-resume") and not page.is_visible("#interview-pause")
        page.screenshot(path=str(shots / "03-paused.png"))
        paused = _interview(session_factory, interview_id)
        assert paused.checkpoint["clock_s"] == clock_at_pause  # the budget clock stood still
        page.click("#interview-resume")
        _wait(lambda: _interview(session_factory, interview_id).paused_at is None, 10, "the resumption to be stored")
        resumed = _interview(session_factory, interview_id)
        assert resumed.paused_s > 0 and resumed.checkpoint["clock_s"] == clock_at_pause
        _wait(lambda: call.track.sent_audio_s > sent_at_pause, 20, "the interviewer's audio to go on")

        # --- the answer is heard (listening, then thinking), and the next question comes
        page.wait_for_function(f"() => window.voxbankInterview.captions.includes('{Q2}')", timeout=120_000)
        states = page.evaluate("() => window.voxbankInterview.states")
        assert {"speaking", "paused", "listening", "thinking"} <= set(states), states
        assert page.evaluate("() => window.voxbankInterview.heard.length") >= 1  # the participant's own subtitle

        # --- the microphone now sends digital silence: no stall, the guide's "still there?" line
        still_there = app.state.runtime.protocol.interview_guides["tiny"].data.safety.still_there
        page.wait_for_function(f"(line) => window.voxbankInterview.captions.lastIndexOf(line) > "
                               f"window.voxbankInterview.captions.indexOf('{Q2}')", arg=still_there, timeout=60_000)
        page.wait_for_function("() => window.voxbankInterview.state === 'listening'", timeout=30_000)
        page.screenshot(path=str(shots / "04-still-there.png"))
        said_before_reload = _interviewer_turns(session_factory, interview_id)
        assert said_before_reload[-1] == Q2

        # --- a reload resumes without saying the question again
        page.reload()
        page.click("#interview-start")
        page.wait_for_function("() => window.voxbankInterview.recaps.length > 0", timeout=60_000)
        assert page.evaluate("() => window.voxbankInterview.recaps") == [Q2]
        page.wait_for_function("() => window.voxbankInterview.state === 'listening'", timeout=30_000)
        reloaded = voice.calls[visit_id]
        assert reloaded is not call
        assert Q2 not in page.evaluate("() => window.voxbankInterview.captions")
        assert reloaded.session is not None and reloaded.session.log.played == []
        page.screenshot(path=str(shots / "05-reloaded.png"))

        # --- a second tab: told the interview is open elsewhere; it moves it; the first tab lets go
        second = context.new_page()
        second.goto(f"{live.url}/study/{slug}/interview")
        second.click("#interview-start")
        second.wait_for_function("() => window.voxbankInterview.elsewhere", timeout=30_000)
        assert "open in another tab or on another device" in second.inner_text("#interview-elsewhere")
        second.screenshot(path=str(shots / "06-second-tab-elsewhere.png"))
        second.click("#interview-move-here")
        page.wait_for_function("() => window.voxbankInterview.moved", timeout=30_000)
        second.wait_for_function("() => window.voxbankInterview.recaps.length > 0", timeout=60_000)
        page.screenshot(path=str(shots / "07-first-tab-moved.png"))
        assert page.evaluate("() => window.voxbankInterview.reconnects") == 0
        assert voice.calls[visit_id].tab != reloaded.tab

        # --- End interview: a kind stop, the reason recorded; Continue leads on
        second.wait_for_function("() => window.voxbankInterview.state === 'listening'", timeout=30_000)
        second.click("#interview-end")
        second.screenshot(path=str(shots / "08-end-confirm.png"))
        second.click("#interview-end-yes")
        second.wait_for_function("() => window.voxbankInterview.ended === 'stopped'", timeout=60_000)
        assert not second.is_visible("#interview-start") and not second.is_visible("#interview-pause")
        second.screenshot(path=str(shots / "09-ended.png"))
        ended = _interview(session_factory, interview_id)
        assert ended.status == "stopped"
        assert ended.end_reason == ("stopped: the participant pressed End interview to stop the interview "
                                    "during question work")
        assert _interviewer_turns(session_factory, interview_id)[-1].startswith("Of course, we can stop here.")
        assert _interviewer_turns(session_factory, interview_id)[:-1] == said_before_reload  # nothing said twice
        assert page.evaluate("() => window.voxbankInterview.reconnects") == 0  # the first tab never fought back
        second.click("#interview-continue")
        second.wait_for_load_state()
        assert "/interview" not in second.url and "Start or continue the interview" not in second.content()
        second.screenshot(path=str(shots / "10-after-continue.png"))
        browser.close()

    with session_factory() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None and visit.current_step != "interview"
        actions = list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.target == f"interview:{interview_id}", AuditEvent.action.like("interview.%"))))
        assert "interview.paused" in actions and "interview.resumed" in actions and "interview.stopped" in actions
