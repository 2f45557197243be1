"""The production topology on one machine, as processes: PostgreSQL as the app role, Redis, two web workers,
a Celery worker on Redis, beat and the LLM server; a browser participant goes from the study link through a
spoken interview to the completion page, the worker transcribes it, /metrics and the logs show it, and every
process stops cleanly on SIGTERM.

The interview runs over embedded WebRTC (the web worker carries the call), so no LiveKit agent process is
started: ``voxbank agent`` serves only LiveKit rooms. The guide is the two-question ``tiny`` guide of the voice
tests, not ``short`` (about six minutes of talk), to keep CI short. The LLM is the real embedded Gemma 3 270M,
served by ``voxbank llm serve`` in its own process as vLLM would be in compose.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis
import soundfile
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from protocols import default_study_dir
from storage.db import make_engine, make_session_factory
from storage.models import Interview, Participant, Recording, Transcript, Visit

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
TINY_GUIDE = REPO / "tests" / "interviewer" / "voice" / "data" / "tiny_guide.yaml"
REDIS_DB = 12
METRICS_TOKEN = "smoke-test-metrics-token"
ANSWER = "I grew up in a small town in Ohio, near a river. My father worked at the paper mill."
SHOWN_METRICS = re.compile(r"^voxbank_(interviews_active|response_latency_seconds_(count|sum)|llm_latency_seconds_"
                           r"(count|sum)|llm_fallbacks_total|participants|queue_depth|transcription_real_time_factor_"
                           r"(count|sum)|job_failures_total|safety_events_total)\b")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Topology:
    """The processes of one deployment, their logs in ``folder``."""

    folder: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[Any] = field(default_factory=list)

    def start(self, name: str, *args: str, **variables: str) -> None:
        env = {**self.env, **{f"VOXBANK_{key.upper()}": value for key, value in variables.items()}}
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115  (closed in stop)
        self.logs.append(log)
        self.processes[name] = subprocess.Popen([sys.executable, "-m", "voxbank", *args], env=env, cwd=self.folder,
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def wait(self, condition: Callable[[], object], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited ({process.returncode}) while waiting for {what}:\n"
                                         f"{self.log(name)[-3000:]}")
            value = condition()
            if value:
                return value
            time.sleep(0.5)
        tails = "\n".join(f"--- {name}\n{self.log(name)[-1500:]}" for name in self.processes)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every process (web first, the LLM last) and give each 60 s to exit; their exit codes."""
        codes: dict[str, int | None] = {}
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                codes[name] = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[name] = None
        for log in self.logs:
            log.close()
        return codes


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def _smoke_study(folder: Path) -> Path:
    """The shipped study with the tiny guide as its interview, and wave 1 ending after the interview."""
    study = folder / "study"
    shutil.copytree(default_study_dir(), study)
    shutil.copy(TINY_GUIDE, study / "interview" / "tiny.yaml")
    spec = yaml.safe_load((study / "study.yaml").read_text())
    spec["interview_guides"]["tiny"] = "interview/tiny.yaml"
    spec["interview_guide"] = "tiny"
    spec["waves"][0]["steps"] = ["consent", "mic_check", "interview"]
    (study / "study.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return study


def _fake_microphone(folder: Path) -> Path:
    """The answer, said after 8 s of silence, then 8 s more, looped by Chromium: every question hears it."""
    from piper import SynthesisConfig

    from interviewer.voice.tts import load_piper_voice

    voice = load_piper_voice()
    config = SynthesisConfig(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0)
    speech = np.concatenate([chunk.audio_int16_array for chunk in voice.synthesize(ANSWER, syn_config=config)])
    rate = 48000
    upsampled = np.interp(np.arange(len(speech) * rate // voice.config.sample_rate) * voice.config.sample_rate / rate,
                          np.arange(len(speech)), speech.astype(np.float64)).astype(np.int16)
    silence = np.zeros(8 * rate, np.int16)
    path = folder / "microphone.wav"
    soundfile.write(path, np.concatenate([silence, upsampled, silence]), rate, subtype="PCM_16")
    return path


def _scrape(url: str) -> list[str]:
    reply = httpx.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert reply.status_code == 200, (url, reply.status_code)
    return [line for line in reply.text.splitlines() if SHOWN_METRICS.match(line)]


def _cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User and system CPU seconds of a process and its children (the uvicorn workers)."""
    import psutil  # installed with livekit-agents, a dependency of voxbank

    root = psutil.Process(process.pid)
    total = 0.0
    for each in [root, *root.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _database_counters(owner_url: str) -> dict[str, int]:
    """PostgreSQL's own counters for this test's database (other databases on the server are not counted)."""
    from sqlalchemy import text

    engine = make_engine(owner_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_stat_force_next_flush()"))
            row = connection.execute(text(
                "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, tup_fetched, pg_database_size(datname) "
                "FROM pg_stat_database WHERE datname = current_database()")).one()
    finally:
        engine.dispose()
    return dict(zip(("transactions", "inserted", "updated", "deleted", "fetched", "bytes"), row, strict=True))


def _value(lines: list[str], prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


@pytest.fixture
def topology(backend: str, database_url: str, tmp_path: Path) -> Iterator[Topology]:
    if backend != "postgresql":
        pytest.skip("the production topology runs on PostgreSQL")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    broker = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()
    env = {key: value for key, value in os.environ.items() if not key.startswith("VOXBANK_")}
    env.update({"PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
                "HF_HUB_OFFLINE": "1", "VOXBANK_ENVIRONMENT": "production", "VOXBANK_LOG_FORMAT": "json",
                "VOXBANK_SECRET_KEY": "smoke-test-secret-key-of-at-least-32-characters",
                "VOXBANK_DATA_DIR": str(tmp_path / "data"), "VOXBANK_DATABASE_URL": database_url,
                "VOXBANK_BROKER_URL": broker, "VOXBANK_STUDY_DIR": str(_smoke_study(tmp_path)),
                "VOXBANK_METRICS_TOKEN": METRICS_TOKEN, "VOXBANK_LLM_EMBEDDED_PORT": str(_free_port())})
    env["VOXBANK_LLM_BASE_URL"] = f"http://127.0.0.1:{env['VOXBANK_LLM_EMBEDDED_PORT']}/v1"
    deployment = Topology(tmp_path, env)
    yield deployment
    deployment.stop()
    redis.Redis.from_url(broker).flushdb()


def test_a_participant_is_interviewed_and_transcribed_across_the_production_processes(
        topology: Topology, database_url: str, database_owner_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    started = time.monotonic()
    database_before = _database_counters(database_owner_url)
    web_port, worker_metrics = _free_port(), f"127.0.0.1:{_free_port()}"
    topology.start("llm", "llm", "serve")
    topology.start("web", "serve", "--port", str(web_port), "--workers", "2")
    # One worker serves both queues here (the transcription goes to ``gpu``; on this machine Whisper runs on CPU).
    topology.start("worker", "worker", "--queues", "default,gpu", "--concurrency", "1", metrics_listen=worker_metrics)
    topology.start("beat", "beat")
    web = f"http://127.0.0.1:{web_port}"
    topology.wait(lambda: _answers(f"{web}/readyz") and httpx.get(f"{web}/readyz").status_code == 200, 120,
                  "the web workers to be ready")
    topology.wait(lambda: _answers(f"http://{worker_metrics}/metrics"), 120, "the worker's metrics port")
    topology.wait(lambda: _answers(topology.env["VOXBANK_LLM_BASE_URL"] + "/models"), 120, "the LLM server")
    microphone = _fake_microphone(tmp_path)
    completion = "https://app.prolific.com/submissions/complete?cc=C5SBD7ZG"
    prolific_requests: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}", "--autoplay-policy=no-user-gesture-required"])
        context = browser.new_context()
        context.set_default_timeout(30_000)

        def prolific(route: Any) -> None:
            prolific_requests.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><h1>Prolific (stand-in)</h1>")

        context.route(re.compile(r"^https://app\.prolific\.com/.*"), prolific)
        page = context.new_page()
        strata = ("age_band=45_54&census_division=pacific&education=bachelor&race=white&gender=female&"
                  "income=50k_75k&neighborhood=suburban&political_ideology=moderate")
        page.goto(f"{web}/study/park2024/start?PROLIFIC_PID=5f3c2b1a9d8e7f6a5b4c3d2e&"
                  f"STUDY_ID=65a0f00d1234567890abcdef&SESSION_ID=5e0000000000000000000abc&{strata}")
        expect(page.locator("h1")).to_have_text("Welcome")  # the link answered every quota question
        page.get_by_role("button", name="Start").click()
        expect(page.locator("h1")).to_have_text("Consent to take part in a research study")
        page.get_by_role("checkbox", name=re.compile("Taking part and how your information is used")).check()
        page.get_by_role("checkbox", name=re.compile("Recording and transcribing your voice")).check()
        page.get_by_role("button", name="I agree and take part").click()
        expect(page.locator("h1")).to_have_text("Microphone check")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("h1")).to_have_text("The interview")
        page.get_by_role("link", name="Start or continue the interview").click()
        page.wait_for_function("() => window.voxbankInterview !== undefined")  # interview.js is ready
        page.click("#interview-start")
        # From the first caption on, the models are loaded: what the call costs a worker from then is its own.
        page.wait_for_function("() => window.voxbankInterview.captions.length > 0", timeout=180_000)
        web_cpu_before, call_started = _cpu_seconds(topology.processes["web"]), time.monotonic()
        page.wait_for_function("() => window.voxbankInterview.ended !== null", timeout=240_000)
        web_cpu_s, call_s = _cpu_seconds(topology.processes["web"]) - web_cpu_before, time.monotonic() - call_started
        assert page.evaluate("window.voxbankInterview.ended") == "completed"
        page.screenshot(path=str(tmp_path / "interview-ended.png"))
        page.goto(f"{web}/study/park2024/step")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("strong.code")).to_have_text("C5SBD7ZG")
        page.wait_for_url(completion, timeout=15_000)
        browser.close()
    assert prolific_requests == [completion]

    # The worker transcribes the finished interview; then the archive task (default queue) keeps the Opus
    # copy of each channel.
    engine = make_engine(database_url)
    factory: sessionmaker[Session] = make_session_factory(engine)

    def transcribed() -> Interview | None:
        with factory() as session:
            return session.scalars(select(Interview).where(Interview.transcription_status == "done")).first()

    interview = topology.wait(transcribed, 180, "the worker to transcribe the interview")

    def archived() -> list[str | None] | None:
        with factory() as session:
            found = session.scalars(select(Recording.archive_sha256)
                                    .where(Recording.interview_id == interview.id)).all()
        return list(found) if found and all(found) else None

    archives = topology.wait(archived, 120, "the archive task to store the Opus copies")
    with factory() as session:
        visit = session.scalars(select(Visit).join(Participant)).one()
        transcript = session.scalars(select(Transcript).where(Transcript.interview_id == interview.id)).one()
    engine.dispose()
    assert (interview.status, visit.status) == ("completed", "completed")
    # Both channels are in it (the looped answer may talk over the interviewer, who then stops and listens).
    lines = transcript.text.splitlines()
    assert any(line.startswith("Interviewer: ") for line in lines)
    assert any(line.startswith("Participant: ") and "Ohio" in line for line in lines)
    assert len(archives) == 2 and all(archives)

    # /metrics (the web workers' sum) and the worker's own port show the interview and the job.
    web_metrics = _scrape(f"{web}/metrics")
    job_metrics = _scrape(f"http://{worker_metrics}/metrics")
    assert _value(web_metrics, "voxbank_response_latency_seconds_count") >= 2
    assert 'voxbank_participants{status="completed",step="complete",wave="1"} 1.0' in web_metrics
    assert _value(job_metrics, "voxbank_transcription_real_time_factor_count") >= 2  # one per channel
    web_log = [json.loads(line) for line in topology.log("web").splitlines() if line.startswith("{")]
    worker_log = topology.log("worker")
    assert any(line["message"] == "voice session closed" and line.get("reason") == "completed" for line in web_log)
    assert f'"message": "transcription job finished", "interview_id": {interview.id}, "outcome": "done"' in worker_log
    codes = topology.stop()
    wall_s = time.monotonic() - started
    database = {key: value - database_before[key] for key, value in _database_counters(database_owner_url).items()}
    with capsys.disabled():
        print(f"\nproduction topology smoke test: {wall_s:.0f} s wall; exit codes {codes}")
        print("scraped from the web workers' /metrics:\n  " + "\n  ".join(web_metrics))
        print("scraped from the worker's metrics port:\n  " + "\n  ".join(job_metrics))
        print(f"web log: {len(web_log)} JSON lines, e.g. {web_log[-1]}")
        print(f"the call: {call_s:.0f} s from the first caption to the end, {web_cpu_s:.1f} CPU s in the web "
              f"processes ({web_cpu_s / call_s:.2f} cores); PostgreSQL for this participant, the scheduler's ticks "
              f"and the transcription: {database}")
    # `voxbank llm serve` exits 128 + SIGTERM by design (interviewer.llm.embedded.exit_on_sigterm), after
    # stopping its llama.cpp server; the others exit 0.
    assert codes == {"llm": 143, "web": 0, "worker": 0, "beat": 0}
    assert "stopped the embedded llm server" in topology.log("llm")
    assert "Application shutdown complete" in topology.log("web") and "Warm shutdown" in topology.log("worker")
