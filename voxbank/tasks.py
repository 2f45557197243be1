"""Celery tasks: thin wrappers over the plain job functions, taking ids only, never personal data.

``transcribe_interview(interview_id)`` runs ``interviewer.transcription.jobs.run_transcription`` on
the ``gpu`` queue; once it has stored a transcript it sends ``archive_interview_audio(interview_id)``,
which encodes the Opus copies (``interviewer.transcription.retention.archive_recordings``) on the
``default`` (CPU) queue. Everything a worker process needs (database engine, blob store, the Whisper model)
is created once per pool process, after the fork (``worker_process_init``): CUDA does not survive a
fork, and a model loaded per task would be loaded hundreds of times. The parent process never
touches CUDA; it only runs the sweep that re-queues jobs whose worker died (see ``jobs``).

``enqueue_transcription(interview_id)`` is what code that finishes an interview calls after its
commit. ``interviewer`` code may not import ``voxbank`` (imports go down the rooms), so the wiring
that starts interviewer jobs passes this function in as the on-finished hook.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from celery import Task, signals
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription.errors import TransientError
from interviewer.transcription.jobs import (
    TRANSIENT_DATABASE_ERRORS,
    mark_failed,
    request_transcription,
    run_transcription,
    sweep_lapsed_claims,
)
from interviewer.transcription.retention import archive_recordings
from interviewer.transcription.whisper import ChannelRun, WhisperRunner
from storage.blobs import BlobStore
from storage.db import make_session_factory
from storage.models import Interview
from voxbank import wiring
from voxbank.celery_app import ARCHIVE_TASK, TRANSCRIBE_TASK, app, app_for
from voxbank.settings import Settings, get_settings

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
"""Retries of a transcription after transient errors (database briefly unreachable), with Celery's
own backoff: up to 10 s, 20 s, 40 s ... capped at 10 minutes, each a random part of that (jitter)."""
RETRY_BACKOFF_S = 10
RETRY_BACKOFF_MAX_S = 600


@dataclass
class TranscriptionRuntime:
    """What one worker process keeps between tasks: settings, database, blob store, Whisper."""

    settings: Settings
    factory: sessionmaker[Session]
    blobs: BlobStore
    _whisper: WhisperRunner | None = None
    _budgets: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings) -> TranscriptionRuntime:
        return cls(settings, wiring.database_sessions(settings), wiring.blob_store(settings))

    def whisper(self) -> WhisperRunner:
        """The process's Whisper model, loaded on first use."""
        if self._whisper is None:
            self._whisper = WhisperRunner(wiring.whisper_options(self.settings))
        return self._whisper

    def guide_budget_s(self, interview_id: int) -> int | None:
        """The time budget (seconds) of the interview's guide, or None when the study cannot say."""
        with self.factory() as session:
            guide_id = session.scalar(select(Interview.guide_id).where(Interview.id == interview_id))
        if guide_id is None:
            return None
        if guide_id not in self._budgets:
            self._budgets[guide_id] = _guide_budget_s(self.settings, guide_id)
        return self._budgets[guide_id]


def _guide_budget_s(settings: Settings, guide_id: str) -> int | None:
    try:
        study = wiring.configured_study(settings)
        for loaded in study.interview_guides.values():
            if loaded.data.id == guide_id:
                return int(loaded.data.total_seconds)
    except Exception as error:  # the study is optional here: without a budget, the budget flags are skipped
        logger.info("no interview guide budget", extra={"guide_id": guide_id, "reason": repr(error)[:200]})
    return None


class _LazyWhisper:
    """Loads the process's model on first use, so a missing model fails the job with its reason."""

    def __init__(self, runtime: TranscriptionRuntime) -> None:
        self.runtime = runtime

    def settings(self, **guards: Any) -> dict[str, Any]:
        return self.runtime.whisper().settings(**guards)

    def transcribe(self, audio: np.ndarray, *, on_progress: Any = None) -> ChannelRun:
        return self.runtime.whisper().transcribe(audio, on_progress=on_progress)


_runtime: TranscriptionRuntime | None = None
_serves_gpu_queue = False


def runtime() -> TranscriptionRuntime:
    """This process's runtime, created on first use."""
    global _runtime
    if _runtime is None:
        _runtime = TranscriptionRuntime.create(get_settings())
    return _runtime


@signals.celeryd_after_setup.connect
def _note_queues(sender: Any = None, instance: Any = None, **_: Any) -> None:
    # Runs in the worker's parent before the pool forks: remember whether pool processes need Whisper.
    global _serves_gpu_queue
    queues = instance.app.amqp.queues
    _serves_gpu_queue = "gpu" in (queues.consume_from or queues)  # no -Q: every queue


@signals.worker_process_init.connect
def _after_fork(**_: Any) -> None:
    global _runtime
    _runtime = None  # nothing opened before the fork may be used after it
    _forget_inherited_broker_engines()
    if _serves_gpu_queue:
        try:
            runtime().whisper()
        except Exception:  # the task records the reason on the interview; the process must still start
            logger.exception("could not load the Whisper model")


def _forget_inherited_broker_engines() -> None:
    # kombu's SQLAlchemy transport caches engines on its Channel class; a pool process inherits the
    # parent's pooled SQLite connections, which must not be shared across processes.
    try:
        from kombu.transport.sqlalchemy import Channel
    except ImportError:
        return
    for engine, _session in list(getattr(Channel, "_engines", {}).values()):
        engine.dispose(close=False)


class TranscriptionTask(Task):  # type: ignore[misc]
    """Records a transcription's final failure on the interview, once Celery has stopped retrying."""

    def on_failure(self, exc: BaseException, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                   einfo: Any) -> None:
        interview_id = args[0] if args else kwargs["interview_id"]
        current = runtime()
        if isinstance(exc, TransientError):
            reason = f"gave up after {MAX_RETRIES} retries: {exc}"
        elif isinstance(exc, SoftTimeLimitExceeded):
            reason = (f"took longer than the time limit of {current.settings.transcription_time_limit_s} s "
                      "(VOXBANK_TRANSCRIPTION_TIME_LIMIT_S)")
        else:  # the job recorded its own failure (or another worker holds it)
            return
        mark_failed(current.factory, interview_id, task_id, reason)


@app.task(bind=True, name=TRANSCRIBE_TASK, base=TranscriptionTask, autoretry_for=(TransientError,),
          max_retries=MAX_RETRIES, retry_backoff=RETRY_BACKOFF_S, retry_backoff_max=RETRY_BACKOFF_MAX_S,
          retry_jitter=True)
def transcribe_interview(self: Any, interview_id: int) -> str:
    """Transcribe one interview's recordings (idempotent: redeliveries of a finished job do nothing)."""
    current = runtime()
    settings = current.settings
    result = run_transcription(
        current.factory, current.blobs, _LazyWhisper(current), interview_id,
        token=str(self.request.id), lease_s=settings.transcription_lease_s,
        max_attempts=settings.transcription_max_attempts, budget_s=current.guide_budget_s(interview_id),
        stop_errors=(SoftTimeLimitExceeded,),
    )
    logger.info("transcription job finished", extra={"interview_id": interview_id, "outcome": result.outcome})
    if result.outcome == "done":
        try:
            send_archive(interview_id)
        except Exception:  # the transcript is stored; the retention sweep sends a lost archive message again
            logger.warning("could not queue the Opus copy", extra={"interview_id": interview_id}, exc_info=True)
    return result.outcome


@app.task(name=ARCHIVE_TASK, autoretry_for=TRANSIENT_DATABASE_ERRORS, max_retries=MAX_RETRIES,
          retry_backoff=RETRY_BACKOFF_S, retry_backoff_max=RETRY_BACKOFF_MAX_S, retry_jitter=True)
def archive_interview_audio(interview_id: int) -> dict[str, Any]:
    """Store the Opus copy of a transcribed interview's channels (a second delivery stores nothing)."""
    current = runtime()
    result = archive_recordings(current.factory, current.blobs, interview_id)
    logger.info("archive job finished", extra={"interview_id": interview_id, "archived": result.archived,
                                               "skipped": sorted(result.skipped)})
    return {"archived": result.archived, "skipped": result.skipped}


def send_archive(interview_id: int, settings: Settings | None = None) -> str:
    """Send the archive message for a transcribed interview; returns the task id."""
    return str(app_for(settings).send_task(ARCHIVE_TASK, args=[interview_id]).id)


def send_transcription(interview_id: int, settings: Settings | None = None) -> str:
    """Send the transcription message for an interview (already marked pending); returns the task id."""
    return str(app_for(settings).send_task(TRANSCRIBE_TASK, args=[interview_id]).id)


def enqueue_transcription(interview_id: int, *, settings: Settings | None = None,
                          requested_by: str = "system") -> bool:
    """Queue the offline transcription of an interview; call it after the interview's commit.

    A finished transcription is redone and replaces the transcript made with the same settings.
    Returns False, queueing nothing, while a live job already holds the interview.
    """
    settings = settings or get_settings()
    engine = wiring.database_engine(settings)
    try:
        if not request_transcription(make_session_factory(engine), interview_id, requested_by=requested_by):
            return False
    finally:
        engine.dispose()
    send_transcription(interview_id, settings)
    return True


def transcription_on_finish(settings: Settings) -> Callable[[int], bool]:
    """The hook a voice process gives ``VoiceRuntime(on_finished=...)``: queue the ended interview."""
    return partial(enqueue_transcription, settings=settings, requested_by="interview_end")


class Sweeper:
    """Re-queues jobs whose worker died, when the worker starts and then every lease period."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.interval = settings.transcription_lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="transcription-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def sweep_once(self) -> list[int]:
        engine = wiring.database_engine(self.settings)
        try:
            return sweep_lapsed_claims(make_session_factory(engine), lambda iid: send_transcription(iid))
        finally:
            engine.dispose()

    def _loop(self) -> None:
        while True:
            try:
                self.sweep_once()
            except Exception:  # a database or broker hiccup: try again at the next tick
                logger.warning("transcription sweep failed", exc_info=True)
            if self._stop.wait(self.interval):
                return


_sweeper: Sweeper | None = None


@signals.worker_ready.connect
def _start_sweeper(**_: Any) -> None:
    global _sweeper
    _sweeper = Sweeper(get_settings())
    _sweeper.start()


@signals.worker_shutdown.connect
def _stop_sweeper(**_: Any) -> None:
    if _sweeper is not None:
        _sweeper.stop()
