"""The microphone check in real Chromium with a fake microphone: the level meter moves, four seconds are
recorded and can be played back, and a microphone that sends digital silence gets a clear message."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import Participant, Study
from tests.interviewer.voice.helpers import admitted_visit
from voxbank.settings import Settings
from web.capability import Signer, cookie_name

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
RATE = 48000


def _microphone(path: Path) -> Path:
    """Three seconds of a voice-like sound (a tone with noise), then digital silence: a mic that goes mute."""
    rng = np.random.default_rng(7)
    t = np.arange(3 * RATE) / RATE
    sound = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))
    audio = np.concatenate([(sound * 32767).astype(np.int16), np.zeros(60 * RATE, np.int16)])
    soundfile.write(path, audio, RATE, subtype="PCM_16")
    return path


def test_the_mic_check_shows_the_level_plays_the_recording_back_and_says_when_nothing_is_heard(
        live_server: str, settings: Settings, session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    with transaction(session_factory) as session:
        study = session.scalars(select(Study)).one()
        participant = Participant(study_id=study.id, prolific_pid=uuid.uuid4().hex[:24],
                                  pseudonym_id=str(uuid.uuid4()), status="active")
        session.add(participant)
        session.flush()
        visit = admitted_visit(session, participant, step="mic_check")
        slug, ids = study.slug, (participant.id, participant.pseudonym_id, visit.id)
    microphone = _microphone(tmp_path / "microphone.wav")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}%noloop", "--autoplay-policy=no-user-gesture-required"])
        context = browser.new_context()
        signer = Signer(settings.secret_key.get_secret_value())
        context.add_cookies([{"name": cookie_name(slug), "url": f"{live_server}/study/{slug}/",
                              "value": signer.capability(slug, *ids)}])
        page = context.new_page()
        page.goto(f"{live_server}/study/{slug}/step")
        assert page.inner_text("h1") == "Microphone check"
        page.click("#mic-check-start")
        page.wait_for_function("() => Number(document.getElementById('mic-check-level').value) > 0.1",
                               timeout=10_000)
        page.screenshot(path=str(tmp_path / "mic-check-level.png"))
        page.wait_for_function("() => window.voxbankMicCheck.result !== null", timeout=20_000)
        assert page.evaluate("() => window.voxbankMicCheck.result") == "heard"
        assert "We heard you" in page.inner_text("#mic-check-status")
        assert page.is_visible("#mic-check-playback")
        assert page.evaluate("() => window.voxbankMicCheck.bytes") > 1000  # four seconds recorded, to play back

        # the fake microphone has gone silent by now: the second test says so
        page.wait_for_function("() => !window.voxbankMicCheck.running", timeout=10_000)
        page.click("#mic-check-start")
        page.wait_for_function("() => window.voxbankMicCheck.result !== null", timeout=20_000)
        assert page.evaluate("() => window.voxbankMicCheck.result") == "silent"
        assert "We heard nothing from your microphone" in page.inner_text("#mic-check-status")
        page.screenshot(path=str(tmp_path / "mic-check-silent.png"))
        browser.close()
