"""The Celery app's configuration follows the settings; the commands check their arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storage.db import transaction
from storage.models import Interview
from voxbank.celery_app import ARCHIVE_TASK, PURGE_WAV_TASK, TRANSCRIBE_TASK, app_for, celery_config, create_app
from voxbank.settings import load_settings


def test_the_embedded_broker_is_the_default_and_gets_sqlalchemy_engine_options(tmp_path: Path) -> None:
    config = celery_config(load_settings(data_dir=tmp_path))
    assert config["broker_url"] == f"sqla+sqlite:///{tmp_path.resolve() / 'broker.db'}"
    # kombu passes the SQLAlchemy transport's options to create_engine, so no visibility_timeout here:
    # this broker never redelivers (see interviewer/transcription/jobs.py for the lease that makes up for it).
    assert config["broker_transport_options"] == {"connect_args": {"timeout": 30}}
    assert config["worker_enable_remote_control"] is False


def test_redis_gets_a_visibility_timeout_longer_than_the_longest_task() -> None:
    config = celery_config(load_settings(broker_url="redis://127.0.0.1:6379/3", transcription_time_limit_s=7200))
    limits = config["task_annotations"][TRANSCRIBE_TASK]
    assert limits == {"time_limit": 7200, "soft_time_limit": 6840}
    assert config["broker_transport_options"] == {"visibility_timeout": 10800}
    assert config["broker_transport_options"]["visibility_timeout"] > limits["time_limit"] > config["task_time_limit"]
    assert config["worker_enable_remote_control"] is True


def test_delivery_is_late_acknowledged_one_at_a_time_without_a_result_backend() -> None:
    config = celery_config(load_settings())
    assert (config["task_acks_late"], config["task_reject_on_worker_lost"], config["worker_prefetch_multiplier"]) == (
        True, True, 1)
    assert config["result_backend"] is None and config["task_ignore_result"] is True
    assert [queue.name for queue in config["task_queues"]] == ["default", "gpu"]
    assert config["task_default_queue"] == "default"
    assert (config["task_time_limit"], config["task_soft_time_limit"]) == (600, 570)


def test_transcription_is_routed_to_the_gpu_queue(tmp_path: Path) -> None:
    app = create_app(load_settings(data_dir=tmp_path))
    assert app.amqp.router.route({}, TRANSCRIBE_TASK)["queue"].name == "gpu"
    assert app.amqp.router.route({}, "voxbank.some_other_task")["queue"].name == "default"
    assert app_for(load_settings(data_dir=tmp_path)) is app_for(load_settings(data_dir=tmp_path))


def test_importing_the_app_and_tasks_reads_no_settings_and_loads_no_model() -> None:
    # An invalid setting would stop anything that read the settings; importing must not.
    code = ("import sys, voxbank.celery_app, voxbank.tasks; "
            "assert 'faster_whisper' not in sys.modules and 'ctranslate2' not in sys.modules")
    environment = {"VOXBANK_STT_COMPUTE_TYPE": "float8", "PATH": "/usr/bin:/bin",
                   "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_transcription_task_takes_its_time_limits_from_the_settings() -> None:
    code = ("from voxbank.tasks import transcribe_interview as t; "
            "print(t.time_limit, t.soft_time_limit, t.acks_late, t.reject_on_worker_lost, t.max_retries)")
    environment = {"VOXBANK_TRANSCRIPTION_TIME_LIMIT_S": "3600", "PATH": "/usr/bin:/bin",
                   "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "3600 3420 True True 5\n"), result.stderr


def test_worker_refuses_an_unknown_queue(run_voxbank) -> None:
    result = run_voxbank("worker", "--queues", "default,cpu")
    assert result.returncode == 2
    assert result.stderr == "--queues: unknown queue(s) cpu; choose from default, gpu\n"


def test_transcribe_with_the_broker_down_says_so_and_leaves_the_job_pending(
        run_voxbank, database_url: str, session_factory, tmp_path: Path) -> None:
    with transaction(session_factory) as session:
        interview = Interview(guide_id="avp", protocol_version="1", protocol_hash="0" * 64)
        session.add(interview)
        session.flush()
        interview_id = interview.id
    result = run_voxbank("transcribe", str(interview_id), database_url=database_url, data_dir=str(tmp_path),
                         broker_url="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert result.stderr.startswith("cannot reach the broker (")
    assert result.stderr.endswith("); what was asked for stays pending: run 'voxbank transcribe --pending' "
                                  "once the broker is back\n")
    with session_factory() as session:
        assert session.get(Interview, interview_id).transcription_status == "pending"


def test_transcribe_needs_an_interview_or_pending(run_voxbank, database_url: str, tmp_path: Path) -> None:
    result = run_voxbank("transcribe", database_url=database_url, data_dir=str(tmp_path))
    assert (result.returncode, result.stderr) == (2, "give an INTERVIEW_ID or --pending (one of them)\n")
    result = run_voxbank("transcribe", "999", database_url=database_url, data_dir=str(tmp_path))
    assert (result.returncode, result.stderr) == (1, "there is no interview 999\n")


def test_the_opus_copy_is_encoded_on_the_cpu_queue_with_the_transcription_time_limit(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, transcription_time_limit_s=7200)
    app = create_app(settings)
    assert app.amqp.router.route({}, ARCHIVE_TASK)["queue"].name == "default"
    assert celery_config(settings)["task_annotations"][ARCHIVE_TASK] == {"time_limit": 7200, "soft_time_limit": 6840}


def test_beat_sends_the_wav_retention_sweep_every_hour(tmp_path: Path) -> None:
    config = celery_config(load_settings(data_dir=tmp_path))
    assert config["beat_schedule"]["wav-purge"]["task"] == PURGE_WAV_TASK == "voxbank.purge_wav"
    assert config["beat_schedule"]["wav-purge"]["schedule"] == 3600.0
    assert "voxbank.audio_retention" in config["imports"]
