"""The transcription task retries with Celery's own backoff and records its final failure once it stops."""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription.errors import AudioInputError, TransientError
from interviewer.transcription.jobs import claim
from storage.db import transaction
from storage.models import Interview
from voxbank import tasks, wiring
from voxbank.settings import Settings

TOKEN = "celery-task-7"


@pytest.fixture
def running_job(settings: Settings, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> int:
    """An interview whose transcription this task (``TOKEN``) holds, and the task's process on this database."""
    runtime = tasks.TranscriptionRuntime(settings, session_factory, wiring.blob_store(settings))
    monkeypatch.setattr(tasks, "_runtime", runtime)
    with transaction(session_factory) as session:
        interview = Interview(guide_id="avp", protocol_version="1", protocol_hash="0" * 64)
        session.add(interview)
        session.flush()
        interview_id = interview.id
    assert claim(session_factory, interview_id, TOKEN, lease_s=60) == 1
    return interview_id


def test_transient_errors_are_retried_with_celerys_backoff_and_jitter() -> None:
    task = tasks.transcribe_interview
    assert task.autoretry_for == (TransientError,)
    assert (task.max_retries, task.retry_backoff, task.retry_backoff_max, task.retry_jitter) == (5, 10, 600, True)


def test_the_last_transient_error_fails_the_job_with_its_reason(running_job: int,
                                                                 session_factory: sessionmaker[Session]) -> None:
    tasks.transcribe_interview.on_failure(TransientError("the database is locked"), TOKEN, (running_job,), {}, None)
    with session_factory() as session:
        interview = session.get(Interview, running_job)
        assert interview is not None
        assert (interview.transcription_status, interview.transcription_error) == (
            "failed", "gave up after 5 retries: the database is locked")


def test_running_past_the_time_limit_fails_the_job_naming_the_setting(running_job: int, settings: Settings,
                                                                       session_factory: sessionmaker[Session]) -> None:
    tasks.transcribe_interview.on_failure(SoftTimeLimitExceeded(), TOKEN, (running_job,), {}, None)
    with session_factory() as session:
        interview = session.get(Interview, running_job)
        assert interview is not None
        assert interview.transcription_status == "failed"
        assert interview.transcription_error == (
            f"took longer than the time limit of {settings.transcription_time_limit_s} s "
            "(VOXBANK_TRANSCRIPTION_TIME_LIMIT_S)")


def test_a_failure_the_job_recorded_itself_is_left_as_it_is(running_job: int,
                                                            session_factory: sessionmaker[Session]) -> None:
    tasks.transcribe_interview.on_failure(AudioInputError("chunk 3 is missing"), TOKEN, (running_job,), {}, None)
    with session_factory() as session:
        interview = session.get(Interview, running_job)
        assert interview is not None and interview.transcription_status == "running"
