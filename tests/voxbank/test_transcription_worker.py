"""Transcription through a real Celery worker subprocess, on the embedded SQLite broker and on Redis.

Each broker gets its own database, data folder and queue; the worker gets them the way an operator's
worker would, through ``VOXBANK_`` variables. Tests in this module run in file order per broker:
the killed-worker test comes first because it needs the queue to itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription.merge import speaker_turns, word_error_rate
from interviewer.transcription.synthetic import SCRIPT, SyntheticInterview, store_interview, synthesise_interview
from storage.audit import events_for
from storage.blobs import BlobStore
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Interview, Recording, RecordingChunk, Transcript, utcnow
from tests.database_roles import as_app_role
from voxbank.settings import Settings, load_settings
from voxbank.tasks import enqueue_transcription, send_archive, send_transcription

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
REDIS_DB = {"sqlite": 14, "postgresql": 15}
"""One Redis database per ``--db`` backend (flushed before use), so two suites never share a queue."""
LEASE_S = 2.0
WER_BOUND = 0.10  # see tests/interviewer/transcription/test_jobs.py for the reasoning


@dataclass
class Worker:
    """A ``voxbank worker`` subprocess in its own process group, logging to a file."""

    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {needle!r} in the worker log after {timeout} s:\n{self.text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the parent and its pool process at once, as the OOM killer or a power cut would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)


@dataclass
class Stack:
    """One database, data folder and broker, and the workers started on them."""

    name: str
    folder: Path
    env: dict[str, str]
    settings: Settings
    factory: sessionmaker[Session]
    blobs: BlobStore
    workers: list[Worker] = field(default_factory=list)

    def start_worker(self, name: str, queues: str = "default,gpu") -> Worker:
        log = self.folder / f"{name}.log"
        with open(log, "wb") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "voxbank", "worker", "--queues", queues, "--concurrency", "1"],
                env=self.env, cwd=self.folder, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        worker = Worker(process, log)
        self.workers.append(worker)
        worker.wait_for_log(" ready.")
        if "gpu" in queues.split(","):  # only a worker that transcribes loads Whisper
            worker.wait_for_log("whisper model loaded")
        return worker

    def running_workers(self) -> list[Worker]:
        return [worker for worker in self.workers if worker.process.poll() is None]

    def voxbank(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "voxbank", *args], env=self.env, cwd=self.folder,
                              capture_output=True, text=True, timeout=timeout)

    def interview(self, interview_id: int) -> Interview:
        with self.factory() as session:
            interview = session.get(Interview, interview_id)
            assert interview is not None
            return interview

    def transcripts(self, interview_id: int) -> list[Transcript]:
        with self.factory() as session:
            return list(session.scalars(select(Transcript).where(Transcript.interview_id == interview_id)))

    def audit_actions(self, interview_id: int, prefix: str = "transcription.") -> list[str]:
        """The interview's audit actions that start with ``prefix`` (the archive task's run on their own)."""
        with self.factory() as session:
            return [event.action for event in events_for(session, f"interview:{interview_id}")
                    if event.action.startswith(prefix)]

    def archives(self, interview_id: int) -> dict[str, str | None]:
        with self.factory() as session:
            return {r.channel: r.archive_sha256
                    for r in session.scalars(select(Recording).where(Recording.interview_id == interview_id))}

    def add(self, synthetic: SyntheticInterview) -> int:
        with transaction(self.factory) as session:
            return store_interview(session, self.blobs, synthetic, ended_at=utcnow()).id

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                logs = "\n".join(worker.text()[-2000:] for worker in self.workers)
                pytest.fail(f"{what}: not after {timeout} s\n{logs}")
            time.sleep(0.02)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> SyntheticInterview:
    return synthesise_interview(SCRIPT, cache_dir=tmp_path_factory.getbasetemp() / "synthetic-audio")


def shortened(synthetic: SyntheticInterview, turns: int) -> SyntheticInterview:
    """The first ``turns`` turns of the interview (a quick job)."""
    end = round((synthetic.turns[turns - 1].end_s + 0.5) * synthetic.sample_rate)
    channels = {name: samples[:end] for name, samples in synthetic.channels.items()}
    return SyntheticInterview(synthetic.sample_rate, channels, synthetic.turns[:turns])


def _module_database(request: pytest.FixtureRequest, backend: str, template: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        target = folder / "voxbank.db"
        target.write_bytes(Path(make_url(template).database or "").read_bytes())
        yield f"sqlite:///{target}"
        return
    server = make_url(str(request.config.getoption("--postgres-url")))
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"voxbank_w_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template).database}"')
    yield as_app_role(server.set(database=name).render_as_string(hide_password=False))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["embedded-broker", "redis-broker"])
def stack(request: pytest.FixtureRequest, backend: str, template_database: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp(request.param)
    databases = _module_database(request, backend, template_database, folder)
    database_url = next(databases)
    broker_url = None
    if request.param == "redis-broker":
        broker_url = f"redis://127.0.0.1:6379/{REDIS_DB[backend]}"
        redis.Redis.from_url(broker_url).flushdb()
    variables = {"environment": "test", "data_dir": str(folder / "data"), "database_url": database_url,
                 "transcription_lease_s": str(LEASE_S)}
    if broker_url:
        variables["broker_url"] = broker_url
    env = {key: value for key, value in os.environ.items() if not key.startswith("VOXBANK_")}
    env.update({f"VOXBANK_{key.upper()}": value for key, value in variables.items()})
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["HF_HUB_OFFLINE"] = "1"
    settings = load_settings(**variables)
    engine = make_engine(database_url)
    result = Stack(request.param, folder, env, settings, make_session_factory(engine),
                   BlobStore(settings.resolved_data_dir / "blobs"))
    yield result
    for worker in result.workers:
        worker.stop()
    engine.dispose()
    next(databases, None)
    if broker_url:
        redis.Redis.from_url(broker_url).flushdb()


@pytest.fixture(scope="module")
def worker(stack: Stack) -> Worker:
    """One worker per broker for the tests after the killed-worker test (its successor, if it ran)."""
    running = stack.running_workers()
    return running[0] if running else stack.start_worker("worker")


def test_a_worker_killed_mid_job_leaves_it_to_the_next_worker_which_completes_it_once(
        stack: Stack, synthetic: SyntheticInterview) -> None:
    if stack.running_workers():
        pytest.fail("this test needs the queue to itself: it must run before the module's shared worker starts")
    interview_id = stack.add(synthetic)
    victim = stack.start_worker("victim")
    assert enqueue_transcription(interview_id, settings=stack.settings, requested_by="test")

    def status() -> tuple[str, float]:
        interview = stack.interview(interview_id)
        if interview.transcription_status == "done":
            pytest.fail("the job finished before the worker could be killed")
        return interview.transcription_status, interview.transcription_progress

    stack.wait_until(lambda: status()[0] == "running", "the job claimed")
    decoding_by = time.monotonic() + 1.5  # on a slow machine, wait until decoding has reported progress
    while status()[1] == 0 and time.monotonic() < decoding_by:
        time.sleep(0.02)
    victim.kill()
    killed = stack.interview(interview_id)
    assert killed.transcription_status == "running"
    assert stack.transcripts(interview_id) == []

    successor = stack.start_worker("successor")  # its startup sweep finds the lapsed claim
    stack.wait_until(lambda: stack.interview(interview_id).transcription_status == "done", "the job done")
    assert len(stack.transcripts(interview_id)) == 1
    done = stack.interview(interview_id)
    assert (done.transcription_attempts, done.transcription_error, done.transcription_claimed_by) == (2, None, None)
    actions = ["transcription.queued", "transcription.started", "transcription.requeued",
               "transcription.started", "transcription.completed"]
    assert stack.audit_actions(interview_id) == actions

    # The original message comes back late (Redis redelivers after its visibility timeout): nothing changes.
    task_id = send_transcription(interview_id, stack.settings)
    successor.wait_for_log(f"[{task_id}] succeeded")
    assert f"[{task_id}] succeeded" in successor.text() and "'skipped'" in successor.text()
    assert len(stack.transcripts(interview_id)) == 1
    assert stack.audit_actions(interview_id) == actions


def test_the_cli_queues_an_interview_and_shows_progress_until_it_is_transcribed(
        stack: Stack, worker: Worker, synthetic: SyntheticInterview) -> None:
    interview_id = stack.add(synthetic)
    result = stack.voxbank("transcribe", str(interview_id), "--wait", "--timeout", "240")
    assert result.returncode == 0, result.stderr + worker.text()[-3000:]
    assert result.stdout == f"queued interview {interview_id}\n1 transcribed, 0 failed\n"
    assert "transcribing: 100%" in result.stderr
    [transcript] = stack.transcripts(interview_id)
    turns = speaker_turns(transcript.segments)
    assert [speaker for speaker, _ in turns] == [turn.speaker for turn in synthetic.turns]
    assert word_error_rate(synthetic.text_of(), " ".join(text for _, text in turns)) < WER_BOUND
    assert transcript.wer_vs_live is not None and transcript.wer_vs_live < WER_BOUND
    interview = stack.interview(interview_id)
    assert (interview.transcription_status, interview.transcription_progress) == ("done", 1.0)
    assert [flag["flag"] for flag in interview.qa_flags] == ["few_participant_words"]


def test_a_channel_with_no_readable_chunk_ends_in_a_clear_recorded_failure(
        stack: Stack, worker: Worker, synthetic: SyntheticInterview) -> None:
    # One damaged chunk is skipped with a QA flag (tests/interviewer/transcription/test_jobs.py); a channel
    # with nothing readable left cannot be transcribed at all.
    interview_id = stack.add(shortened(synthetic, 2))
    garbage = stack.blobs.put(b"\x00" * 512)
    with transaction(stack.factory) as session:
        chunks = session.scalars(select(RecordingChunk).join(Recording)
                                 .where(Recording.interview_id == interview_id,
                                        Recording.channel == "interviewer")).all()
        for chunk in chunks:
            chunk.blob_sha256 = garbage
    result = stack.voxbank("transcribe", str(interview_id), "--wait", "--timeout", "120")
    assert result.returncode == 1, result.stderr
    reason = stack.interview(interview_id).transcription_error
    assert reason.startswith("no chunk of the interviewer channel")
    assert f"interview {interview_id} failed: {reason}\n" in result.stderr
    assert result.stdout.endswith("0 transcribed, 1 failed\n")
    assert stack.transcripts(interview_id) == []
    assert stack.audit_actions(interview_id) == ["transcription.queued", "transcription.started",
                                                 "transcription.failed"]


def test_pending_queues_every_ended_interview_that_waits(
        stack: Stack, worker: Worker, synthetic: SyntheticInterview) -> None:
    short = shortened(synthetic, 2)
    first, second = stack.add(short), stack.add(short)
    result = stack.voxbank("transcribe", "--pending", "--wait", "--timeout", "240")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"queued 2 interview(s): {first}, {second}\n2 transcribed, 0 failed\n"
    assert [len(stack.transcripts(i)) for i in (first, second)] == [1, 1]
    assert stack.voxbank("transcribe", "--pending").stdout == "queued 0 interview(s)\n"



def test_the_opus_copy_is_made_on_the_default_queue_after_the_transcript_and_a_second_delivery_does_nothing(
        stack: Stack, synthetic: SyntheticInterview) -> None:
    for running in stack.running_workers():  # the shared worker serves both queues: this test needs them apart
        running.stop()
    gpu = stack.start_worker("gpu-only", queues="gpu")
    interview_id = stack.add(shortened(synthetic, 2))
    assert enqueue_transcription(interview_id, settings=stack.settings, requested_by="test")
    stack.wait_until(lambda: stack.interview(interview_id).transcription_status == "done", "the job done")
    assert stack.archives(interview_id) == {"interviewer": None, "participant": None}  # not on the GPU worker

    cpu = stack.start_worker("default-only", queues="default")
    stack.wait_until(lambda: all(stack.archives(interview_id).values()), "both Opus copies stored")
    archives = stack.archives(interview_id)
    assert stack.audit_actions(interview_id, "recording.") == ["recording.archived", "recording.archived"]
    assert "archive job finished" not in gpu.text()
    files = sorted(path.name for path in stack.blobs.root.rglob("*") if path.is_file())

    task_id = send_archive(interview_id, stack.settings)  # a second delivery of the same message
    cpu.wait_for_log(f"[{task_id}] succeeded")
    assert stack.archives(interview_id) == archives
    assert stack.audit_actions(interview_id, "recording.") == ["recording.archived", "recording.archived"]
    assert sorted(path.name for path in stack.blobs.root.rglob("*") if path.is_file()) == files
