"""The dashboard in a real browser (Debian's Chromium through Playwright) against the app served by uvicorn.

Journey bots first take four participants through the real app (two to completion, two to the
interview step). Then: an admin signs in and reads the funnel and the quotas, which must equal the
database. The fourth participant starts a real voice interview on the interview page (embedded
WebRTC, a fake microphone playing a spoken answer that tells of a loss): while it runs, the live page
shows it without a reload (pseudonym, elapsed time against the budget, module and question, the last
response latency, the connection, and the distress event the safety classifier raised); an admin
withdraws that participant, the call is hung up and the row leaves the live page, and the event
stays on the quality page without the words said. A researcher plays a recording by clicking a
transcript turn (the media element's currentTime advances) and the audit log holds the read; an
admin makes an export from the page. Screenshots (laptop and tablet widths) go to ``$VOXBANK_SHOTS``
(default: the test's temporary folder) for a person to look at.

The interview runs on a two-question guide (the voice tests' ``tiny_guide.yaml``) with the stand-in
LLM (``tests/llm_stand_in.py``); the app loads Whisper, Piper and the safety classifier itself.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from conftest import add_account
from fastapi import FastAPI
from journey_bots import Bot, interview_ended_by, pid, read_form
from sqlalchemy import func, select
from staff_data import TURNS, store_interview

from interviewer.voice.webrtc import EmbeddedVoice
from protocols import Study, load_file
from storage.models import AuditEvent, Consent, Export, Interview, Participant, QuotaCell, SafetyEvent, Turn, Visit
from tests.interviewer.voice.helpers import write_fake_microphone
from tests.llm_stand_in import StandInLLM, stand_in, stand_in_server  # noqa: F401  (fixtures)
from voxbank.settings import Settings
from voxbank.wiring import web_app
from web.staff.roles import Role

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
TINY_GUIDE = Path(__file__).parents[2] / "interviewer" / "voice" / "data" / "tiny_guide.yaml"
ANSWER = "I grew up in a small town in Ohio. My father died there last winter, and this is really hard to talk about."
LEAD_SILENCE_S = 10.0  # the greeting and the first question take about five seconds to say
LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}  # held upright


@pytest.fixture(scope="module")
def tiny_study(protocol_study: Study) -> Study:
    """The shipped study with the voice tests' two-question guide as its interview, so a spoken one takes seconds."""
    tiny = load_file(TINY_GUIDE, kind="interview_guide")
    spec = protocol_study.spec.model_copy(update={"interview_guide": "tiny"})
    return dataclasses.replace(protocol_study, file=dataclasses.replace(protocol_study.file, data=spec),
                               interview_guides={**protocol_study.interview_guides, "tiny": tiny})


@pytest.fixture
def app(settings: Settings, tiny_study: Study, stand_in: StandInLLM) -> FastAPI:  # noqa: F811
    """The app with the tiny guide, its LLM the stand-in (as tests/web/conftest.py's, otherwise)."""
    return web_app(settings.model_copy(update={"rate_limit_entry": "100000/minute", "llm_base_url": stand_in.url,
                                               "llm_timeout_s": 2.0}), study=tiny_study)


@pytest.fixture
def fake_microphone(tmp_path: Path) -> Iterator[Path]:
    """Silence while the interviewer greets and asks, the spoken answer (Piper), then silence; 48 kHz."""
    from piper import SynthesisConfig

    from interviewer.voice.tts import load_piper_voice

    voice = load_piper_voice()
    config = SynthesisConfig(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0)
    answer = np.concatenate([chunk.audio_int16_array for chunk in voice.synthesize(ANSWER, syn_config=config)])
    yield write_fake_microphone(tmp_path / "microphone.wav", answer, voice.config.sample_rate,
                                lead_s=LEAD_SILENCE_S, tail_s=90)


def _open_the_interviewer(app: FastAPI) -> None:
    """Load the app's embedded interviewer now (as its first offer would), so the microphone's lead-in need
    not cover the models' loading."""
    state = app.state
    opened = state.open_voice(state.session_factory, state.runtime.protocol)
    state.close_voice = opened.close
    state.embedded_voice = EmbeddedVoice(opened.runtime, max_calls=state.settings.voice_max_calls,
                                         connect_timeout_s=state.settings.voice_connect_timeout_s)


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/staff")
    playwright_api.expect(page.locator("h1")).to_have_text("Staff sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    playwright_api.expect(page.locator("h1")).to_have_text("Overview")


@pytest.mark.slow
def test_staff_run_the_study_from_the_browser(live_server: str, app: FastAPI, session_factory, tmp_path: Path,
                                              fake_microphone: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    expect = playwright_api.expect
    shots = Path(os.environ.get("VOXBANK_SHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    add_account(session_factory, "admin@lab.example.org", Role.ADMIN)
    add_account(session_factory, "researcher@lab.example.org", Role.RESEARCHER)
    with httpx.Client(base_url=live_server, follow_redirects=True, timeout=30) as participant_browser:
        for n in (1, 2):
            bot = Bot(participant_browser, pid(n), end_interview=interview_ended_by(session_factory))
            bot.run(bot.enter())
            participant_browser.cookies.clear()
        third = Bot(participant_browser, pid(3))
        third.step(third.enter())  # consents; now at the microphone check
        participant_browser.cookies.clear()
        speaker = Bot(participant_browser, pid(4))
        at_interview = speaker.step(speaker.step(speaker.enter()))  # consent, microphone check
        assert read_form(at_interview.text).heading == "The interview"
        speaker_cookies = [{"name": c.name, "value": c.value, "url": live_server + (c.path or "/")}
                           for c in participant_browser.cookies.jar]
    with session_factory() as session:
        visit_id = session.scalars(select(Visit.id).join(Participant).where(Participant.prolific_pid == pid(3))).one()
        pseudonym = session.scalars(select(Participant.pseudonym_id).where(Participant.prolific_pid == pid(3))).one()
        speaker_pseudonym, speaker_visit = session.execute(
            select(Participant.pseudonym_id, Visit.id).join(Visit).where(Participant.prolific_pid == pid(4))).one()
    interview_id, recordings = store_interview(session_factory, app.state.blob_store, visit_id)
    _open_the_interviewer(app)

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            *CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={fake_microphone}%noloop"])
        admin = browser.new_context(viewport=LAPTOP)
        admin.set_default_timeout(20_000)
        page = admin.new_page()

        # 1. An admin signs in; the funnel and the quotas equal the database.
        _sign_in(page, live_server, "admin@lab.example.org")
        funnel = {(row.get_attribute("data-wave"), row.get_attribute("data-stage")):
                  int(row.locator("td").nth(2).inner_text()) for row in page.locator("#funnel tbody tr").all()}
        with session_factory() as session:
            assert funnel[("1", "entered")] == session.scalar(
                select(func.count()).select_from(Visit).where(Visit.wave == 1)) == 4
            assert funnel[("1", "consented")] == session.scalar(
                select(func.count(func.distinct(Consent.participant_id)))) == 4
            assert funnel[("1", "completed")] == session.scalar(
                select(func.count()).select_from(Visit).where(Visit.status == "completed")) == 2
            cells = {(c.stratum, c.cell): (c.filled, c.capacity) for c in session.scalars(select(QuotaCell))
                     if c.stratum != "*"}
        shown = {}
        for table in page.locator("table.quota").all():
            stratum = table.get_attribute("data-stratum")
            for row in table.locator("tbody tr").all():
                numbers = row.locator("td.num").all_inner_texts()
                shown[(stratum, row.get_attribute("data-cell"))] = (int(numbers[0]), int(numbers[1]))
        assert shown == cells
        page.screenshot(path=str(shots / "01-overview.png"), full_page=True)
        page.set_viewport_size(TABLET)
        page.screenshot(path=str(shots / "02-overview-tablet.png"))
        page.set_viewport_size(LAPTOP)

        # 2. A voice interview starts: the live page, never reloaded, shows it running, then without it.
        page.get_by_role("link", name="Live").click()
        expect(page.locator("#none-running")).to_be_visible()
        page.evaluate("window.notReloaded = true")
        participant = browser.new_context()
        participant.add_cookies(speaker_cookies)
        talk = participant.new_page()
        talk.goto(f"{live_server}/study/{app.state.runtime.slug}/interview")
        talk.click("#interview-start")
        talk.wait_for_function("() => window.voxbankInterview.captions.includes('Where did you grow up?')",
                               timeout=90_000)
        with session_factory() as session:
            running_id = session.scalars(select(Interview.id).where(Interview.visit_id == speaker_visit)).one()
        row = page.locator(f'#running tr[data-interview="{running_id}"]')
        expect(row).to_contain_text(speaker_pseudonym[:8], timeout=15_000)
        expect(row).to_contain_text(re.compile(r"Life · (grew_up|work)"))  # the guide's module and question
        expect(row.locator("td").nth(2)).to_contain_text(" / 0:00:20")  # elapsed against the guide's 20 s
        expect(row.locator("[data-safety]")).to_contain_text("distress × 1", timeout=120_000)  # heard, flagged
        expect(row.locator("[data-safety]")).to_contain_text("1 to review")
        expect(row.locator("td").nth(4)).to_contain_text(re.compile(r"^\d+ ms$"), timeout=30_000)
        expect(row.locator("td").nth(5)).to_contain_text("speaking")
        with session_factory() as session:
            event = session.scalars(select(SafetyEvent).where(SafetyEvent.interview_id == running_id)).one()
            assert event.signal in ("distress", "severe") and event.reviewed_at is None
            said = session.scalars(select(Turn.text).where(Turn.interview_id == running_id,
                                                           Turn.seq == event.turn_seq)).one()
        assert "hard to talk about" in said.lower(), said
        page.screenshot(path=str(shots / "03-live.png"), full_page=True)
        page.set_viewport_size(TABLET)
        page.screenshot(path=str(shots / "03-live-tablet.png"), full_page=True)
        page.set_viewport_size(LAPTOP)

        # It ends: an admin withdraws the participant (in another tab); the call is hung up, the row goes.
        withdrawing = admin.new_page()
        withdrawing.goto(f"{live_server}/staff/participants/{speaker_pseudonym}")
        withdrawing.get_by_label("Type the pseudonym").fill(speaker_pseudonym)
        withdrawing.get_by_role("button", name="Withdraw and erase").click()
        expect(withdrawing.locator(".notice")).to_contain_text("The participant was withdrawn")
        expect(row).to_have_count(0, timeout=15_000)
        expect(page.locator("#none-running")).to_be_visible()
        assert page.evaluate("window.notReloaded") is True
        assert speaker_visit not in app.state.embedded_voice.calls  # hung up by the withdrawal
        participant.close()
        with session_factory() as session:
            assert session.get(Interview, running_id).status == "withdrawn"  # type: ignore[union-attr]
            kept = session.get(SafetyEvent, event.id)
            assert kept is not None and (kept.signal, kept.turn_seq) == (event.signal, event.turn_seq)
            assert not session.scalars(select(Turn).where(Turn.interview_id == running_id)).all()
        withdrawing.goto(f"{live_server}/staff/quality")
        expect(withdrawing.locator(f"#safety-event-{event.id}")).to_contain_text("(erased at withdrawal)")
        withdrawing.close()

        # 3. An admin makes an export from the page.
        page.get_by_role("link", name="Exports").click()
        page.get_by_label("Make an export").select_option("open")
        page.get_by_role("button", name="Make export").click()
        expect(page.locator(".notice")).to_contain_text("was written")
        with session_factory() as session:
            export = session.scalars(select(Export)).one()
        expect(page.locator(f'tr[data-export="{export.id}"]')).to_contain_text("staff:admin@lab.example.org")
        page.screenshot(path=str(shots / "04-exports.png"), full_page=True)
        for name in ("Quality", "Jobs", "Study", "Accounts"):
            page.get_by_role("link", name=name, exact=True).click()
            expect(page.locator("h1")).to_contain_text(name if name != "Accounts" else "Staff accounts")
            page.screenshot(path=str(shots / f"05-{name.lower()}.png"), full_page=True)
        page.get_by_role("link", name="Quality", exact=True).click()
        page.set_viewport_size(TABLET)
        page.screenshot(path=str(shots / "05-quality-tablet.png"))
        page.set_viewport_size(LAPTOP)

        # 4. A researcher plays a recording by clicking a turn; the media element's time advances.
        researcher = browser.new_context(viewport=LAPTOP)
        researcher.set_default_timeout(20_000)
        rpage = researcher.new_page()
        _sign_in(rpage, live_server, "researcher@lab.example.org")
        rpage.get_by_role("link", name="Participants").click()
        rpage.get_by_role("link", name=pseudonym).click()
        expect(rpage.locator("h1")).to_contain_text(pseudonym)
        turn = rpage.locator(".transcript li", has_text=TURNS[1][3])
        turn.click()
        audio = rpage.locator('audio[data-channel="participant"]')
        rpage.wait_for_function("a => !a.paused && a.currentTime > 4.0", arg=audio.element_handle(), timeout=15_000)
        expect(turn).to_have_class(re.compile("playing"))
        rpage.screenshot(path=str(shots / "06-participant-playing.png"))
        rpage.screenshot(path=str(shots / "07-participant-full.png"), full_page=True)
        rpage.set_viewport_size(TABLET)
        rpage.screenshot(path=str(shots / "08-participant-tablet.png"), full_page=True)
        browser.close()

    # The stored interview was read by the researcher alone (the admin read the withdrawn speaker's record).
    with session_factory() as session:
        reads = [e for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "recording.read"))
                 if e.details["recording_id"] in recordings.values()]
        transcript_reads = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "transcript.read", AuditEvent.target == f"interview:{interview_id}")).all()
    assert reads and {e.actor for e in reads} == {"staff:researcher@lab.example.org"}
    assert {e.details["recording_id"] for e in reads} >= {recordings["participant"]}
    assert [e.actor for e in transcript_reads] == ["staff:researcher@lab.example.org"]
