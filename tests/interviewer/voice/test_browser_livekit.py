"""LiveKit mode, end to end: a browser participant is interviewed by the real ``voxbank agent`` in a LiveKit room.

No LiveKit server can be installed here, so the room is held by the stand-in of ``tests/livekit_standin``,
which speaks LiveKit's real wire protocol (signalling, media, data, Twirp, the agent worker protocol; what
it leaves out is listed there and in deploy/README.md). Everything else is ours and real: the web app
(on its test database, with ``VOXBANK_LIVEKIT_*`` pointing at the stand-in), which mints the participant's
token and dispatches the interviewer; ``voxbank agent dev`` as its own process, whose job joins the room
with the Rust SDK of livekit-agents and runs the conductor with Whisper and Piper; and headless Chromium
with a fake microphone, which goes through consent and the microphone check, joins the room with the
vendored livekit-client and answers the first question. The LLM is the shared stand-in over HTTP.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.voice.audio_io import INPUT_RATE
from interviewer.voice.livekit_room import AGENT_NAME, room_name
from protocols import default_study_dir, load_study
from storage.models import Interview, Participant, Recording, Turn, Visit
from tests.interviewer.voice.helpers import ANSWER, write_fake_microphone
from tests.interviewer.voice.test_browser import CHROMIUM, LiveServer
from tests.livekit_standin import LiveKitStandIn
from voxbank.settings import Settings, load_settings
from voxbank.wiring import web_app

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
TINY_GUIDE = Path(__file__).parent / "data" / "tiny_guide.yaml"
BUNDLE = REPO / "web" / "static" / "vendor" / "livekit-client.umd.min.js"
KEY, SECRET = "APIvoxbanktest", "livekit-stand-in-secret-of-forty-characters"
PAUSE_S = 8.0
"""Silence before and after the answer; Chromium loops the file, so the answer comes again until it is heard
(the agent's job process starts and loads its models after the page has joined, so the first may be missed)."""


def _tiny_study(folder: Path) -> Path:
    """The shipped study with the two-question guide as its interview, wave 1 ending after it."""
    study = folder / "study"
    shutil.copytree(default_study_dir(), study)
    shutil.copy(TINY_GUIDE, study / "interview" / "tiny.yaml")
    spec = yaml.safe_load((study / "study.yaml").read_text())
    spec["interview_guides"]["tiny"] = "interview/tiny.yaml"
    spec["interview_guide"] = "tiny"
    spec["waves"][0]["steps"] = ["consent", "mic_check", "interview"]
    (study / "study.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return study


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _wait(condition: Callable[[], Any], timeout: float, what: str, agent: subprocess.Popen[bytes] | None = None,
          log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if agent is not None and agent.poll() is not None:
            raise AssertionError(f"voxbank agent exited ({agent.returncode}) while waiting for {what}:\n"
                                 f"{log.read_text(errors='replace')[-4000:] if log else ''}")
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-4000:] if log else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n--- agent log\n{tail}\n"
                         f"--- the LiveKit stand-in\n{STANDIN[0].describe() if STANDIN else ''}")


STANDIN: list[LiveKitStandIn] = []
"""The running stand-in, described when a wait times out."""


@pytest.fixture
def livekit() -> Iterator[LiveKitStandIn]:
    with LiveKitStandIn(KEY, SECRET) as server:
        STANDIN.append(server)
        yield server
        STANDIN.remove(server)


@pytest.fixture
def livekit_settings(llm_settings: Settings, livekit: LiveKitStandIn, tmp_path: Path) -> Settings:
    """The test's settings in LiveKit mode, on the tiny study."""
    return load_settings(**{**llm_settings.model_dump(), "livekit_url": livekit.url, "livekit_api_key": KEY,
                            "livekit_api_secret": SECRET, "study_dir": _tiny_study(tmp_path)})


@pytest.fixture
def agent_process(livekit_settings: Settings, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``voxbank agent dev`` on the same settings, in its own process (its log in the test's folder)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("VOXBANK_")}
    values = livekit_settings.model_dump()
    for name in ("environment", "data_dir", "database_url", "database_owner_url", "llm_base_url", "llm_timeout_s",
                 "study_dir", "livekit_url", "livekit_api_key"):
        if values.get(name) is not None:
            env[f"VOXBANK_{name.upper()}"] = str(values[name])
    env.update({"VOXBANK_LIVEKIT_API_SECRET": SECRET,
                "VOXBANK_SECRET_KEY": livekit_settings.secret_key.get_secret_value(),
                "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
                "HF_HUB_OFFLINE": "1"})
    log_path = tmp_path / "agent.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "voxbank", "agent", "dev"], env=env, cwd=tmp_path,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process, log_path
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium at /usr/bin/chromium")
@pytest.mark.skipif(not BUNDLE.exists(), reason="needs the vendored livekit-client: run `make vendor`")
def test_a_participant_joins_the_livekit_room_and_is_interviewed_by_the_agent(
        livekit: LiveKitStandIn, livekit_settings: Settings, agent_process: tuple[subprocess.Popen[bytes], Path],
        session_factory: sessionmaker[Session], speak_text: Callable[[str], Any], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    agent, agent_log = agent_process
    _wait(lambda: any(w.agent_name == AGENT_NAME for w in livekit.dispatcher.workers), 120,
          "the agent to register with the LiveKit stand-in", agent, agent_log)
    microphone = write_fake_microphone(tmp_path / "microphone.wav", speak_text(ANSWER), INPUT_RATE,
                                       lead_s=PAUSE_S, tail_s=PAUSE_S)
    app = web_app(livekit_settings, study=load_study(livekit_settings.study_dir))
    shots = Path(os.environ.get("VOXBANK_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with LiveServer(app) as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}", "--autoplay-policy=no-user-gesture-required"])
        context = browser.new_context()
        context.set_default_timeout(30_000)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        strata = ("age_band=45_54&census_division=pacific&education=bachelor&race=white&gender=female&"
                  "income=50k_75k&neighborhood=suburban&political_ideology=moderate")
        page.goto(f"{live.url}/study/park2024/start?PROLIFIC_PID=5f3c2b1a9d8e7f6a5b4c3d2e&"
                  f"STUDY_ID=65a0f00d1234567890abcdef&SESSION_ID=5e0000000000000000000abc&{strata}")
        expect(page.locator("h1")).to_have_text("Welcome")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("h1")).to_have_text("Consent to take part in a research study")
        page.get_by_role("checkbox", name=re.compile("Taking part and how your information is used")).check()
        page.get_by_role("checkbox", name=re.compile("Recording and transcribing your voice")).check()
        page.get_by_role("button", name="I agree and take part").click()
        expect(page.locator("h1")).to_have_text("Microphone check")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("h1")).to_have_text("The interview")
        page.get_by_role("link", name="Start or continue the interview").click()
        page.wait_for_function("() => window.voxbankInterview !== undefined")
        assert page.locator("#interview").get_attribute("data-mode") == "livekit"
        page.click("#interview-start")
        try:
            page.wait_for_function("() => window.voxbankInterview.status === 'connected'", timeout=60_000)
        except Exception:
            page.screenshot(path=str(shots / "livekit-not-connected.png"))
            raise AssertionError("the page did not join the room:\n" + "\n".join(console[-40:])) from None
        page.screenshot(path=str(shots / "livekit-connected.png"))

        with session_factory() as session:
            visit, pseudonym = session.execute(select(Visit, Participant.pseudonym_id).join(Participant)).one()
        room = room_name(visit.id)
        assert (room, pseudonym) in livekit.joined  # the page joined the visit's room as the participant
        [assignment] = _wait(lambda: livekit.dispatcher.assignments, 30, "the interviewer to be dispatched",
                             agent, agent_log)
        assert assignment.job.room.name == room and assignment.job.agent_name == AGENT_NAME

        def interview() -> Interview | None:
            with session_factory() as session:
                return session.scalars(select(Interview).where(Interview.visit_id == visit.id)).first()

        started = _wait(interview, 180, "the agent's job to start the interview", agent, agent_log)

        def turns() -> list[Turn]:
            with session_factory() as session:
                return list(session.scalars(select(Turn).where(Turn.interview_id == started.id).order_by(Turn.seq)))

        _wait(lambda: any(t.speaker == "interviewer" and t.question_id == "grew_up" for t in turns()), 120,
              "the interviewer to ask the first question", agent, agent_log)
        # the interviewer's voice reaches the page over the room: its track plays in the page's audio element
        page.wait_for_function("() => { const audio = document.getElementById('interview-audio');"
                               " return audio.srcObject && audio.srcObject.getAudioTracks().length === 1; }",
                               timeout=30_000)
        _wait(lambda: any(t.speaker == "participant" for t in turns()), 120,
              "the participant's answer to be heard and stored", agent, agent_log)
        _wait(lambda: any(t.speaker == "interviewer" and t.question_id == "work" for t in turns()), 120,
              "the interviewer to ask the next question", agent, agent_log)
        # the answer to the first question is the fake microphone's words. The looped file starts when the page
        # joins, not when the question ends: it may be playing while the interviewer still speaks (that part is not
        # heard, CI once kept only "Paper mill."), or a pause between its sentences may end the turn. So the turn
        # holds all of it or a part: mostly words of the answer, at least two of them (Whisper tiny hears a clipped
        # start loosely: CI once stored "Your river. My father work at the paper mill.", 7 of 9 words)
        answered = _words(" ".join(t.text for t in turns()
                                   if t.speaker == "participant" and t.question_id == "grew_up"))
        vocabulary = set(_words(ANSWER))
        of_the_answer = sum(word in vocabulary for word in answered)
        assert of_the_answer >= 2 and of_the_answer >= 0.6 * len(answered), \
            [(t.speaker, t.question_id, t.text) for t in turns()]
        page.screenshot(path=str(shots / "livekit-answered.png"))
        # the looped answer answers the second question too; the interviewer closes and the job ends
        ended = _wait(lambda: (row := interview()) is not None and row.status == "completed" and row, 240,
                      "the interview to be completed", agent, agent_log)
        browser.close()

    with session_factory() as session:
        said = [t.text for t in session.scalars(select(Turn).where(Turn.interview_id == ended.id,
                                                                     Turn.speaker == "interviewer")
                                                  .order_by(Turn.seq))]
    assert said[-1] == "Thank you. That is the end of our talk."

    def recorded() -> dict[str, Recording]:
        with session_factory() as session:
            found = {row.channel: row for row in session.scalars(select(Recording)
                                                                   .where(Recording.interview_id == ended.id))}
        return found if len(found) == 2 and all(row.sha256 for row in found.values()) else {}

    # the job's session closes with the interview and stores both channels of the recording
    recordings = _wait(recorded, 60, "the job to store both recording channels", agent, agent_log)
    assert sorted(recordings) == ["interviewer", "participant"]
    assert all(row.duration_s is not None and row.duration_s > 5.0 for row in recordings.values())
