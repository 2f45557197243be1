"""The Celery app, configured from ``Settings``: queues, routing, acknowledgement and time limits.

Broker: ``settings.resolved_broker_url``, Redis in production, or by default an embedded broker on
one machine (kombu's SQLAlchemy transport on ``<data_dir>/broker.db``).

Queues: ``default`` for short jobs and CPU work, ``gpu`` for transcription, so a GPU machine runs
``voxbank worker --queues gpu`` with one process per GPU while the rest go elsewhere. The Opus copy
of a transcribed interview's audio (``ARCHIVE_TASK``) is CPU work and goes to ``default``.

Delivery: ``task_acks_late`` (a message is acknowledged after its task finishes, not before), one
message reserved per worker process (``worker_prefetch_multiplier = 1``: a two-hour transcription
must not sit behind another in a busy process), ``task_reject_on_worker_lost`` (a pool process
that dies hands its message back). Redis redelivers an unacknowledged message after the visibility
timeout, set an hour longer than the hard time limit of the longest task so that a running task is
never delivered twice. The embedded broker never redelivers a message whose worker was killed;
``interviewer.transcription.jobs`` explains the database lease and sweep that make up for it.

No result backend: a task's outcome (status, error, progress, the transcript itself) is written to
the database by the task, where the CLI, the dashboard and the audit log read it.

Configuration is read lazily, when the app is first used, so importing this module reads nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from celery import Celery
from kombu import Queue
from sqlalchemy.engine import make_url

from voxbank.embedded_broker import declare_queues, is_embedded_broker
from voxbank.settings import Settings, get_settings

TRANSCRIBE_TASK = "voxbank.transcribe_interview"
ARCHIVE_TASK = "voxbank.archive_recordings"
SCHEDULER_TICK_TASK = "voxbank.scheduler_tick"
PURGE_WAV_TASK = "voxbank.purge_wav"
PURGE_WAV_EVERY_S = 3600.0
"""How often beat sends the audio retention sweep (``voxbank.audio_retention``)."""
TICK_S = 60.0
"""How often beat (``voxbank worker --beat``) sends the scheduler's tick (see ``voxbank.schedule_tick``)."""
QUEUES = ("default", "gpu")
SOFT_LIMIT_SHARE = 0.95
DEFAULT_TIME_LIMIT_S = 600
"""Hard time limit of every task without its own (short jobs on the ``default`` queue)."""


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's configuration for these settings."""
    broker = settings.resolved_broker_url
    hard = settings.transcription_time_limit_s
    embedded = is_embedded_broker(broker)
    if embedded:
        database = make_url(broker.split("+", 1)[1]).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)  # as storage.db does for the database
        # These options go to SQLAlchemy's create_engine: wait for SQLite's lock instead of failing.
        transport_options: dict[str, Any] = {"connect_args": {"timeout": 30}}
    else:
        transport_options = {"visibility_timeout": hard + 3600}
    return {
        "broker_url": broker,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_queues": tuple(Queue(name, routing_key=name) for name in QUEUES),
        "task_default_queue": "default",
        "task_routes": {TRANSCRIBE_TASK: {"queue": "gpu"}, ARCHIVE_TASK: {"queue": "default"}},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": DEFAULT_TIME_LIMIT_S,
        "task_soft_time_limit": int(DEFAULT_TIME_LIMIT_S * SOFT_LIMIT_SHARE),
        # Encoding a two-hour interview's Opus copy takes minutes of CPU: it gets the transcription's limit.
        "task_annotations": {task: {"time_limit": hard, "soft_time_limit": int(hard * SOFT_LIMIT_SHARE)}
                             for task in (TRANSCRIBE_TASK, ARCHIVE_TASK)},
        # A running task whose broker connection dropped will be redelivered: stop it rather than run it twice.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # Pool processes load Whisper when they start (see voxbank.tasks); a large model takes a while.
        "worker_proc_alive_timeout": 300.0,
        # The embedded broker has no fanout exchange, which remote control needs.
        "worker_enable_remote_control": not embedded,
        "worker_hijack_root_logger": False,
        # The retest scheduler: its task module, and beat's tick (a tick left unsent for a minute is dropped).
        "imports": ("voxbank.schedule_tick", "voxbank.broker_purge", "voxbank.audio_retention"),
        "beat_schedule": {"scheduler-tick": {"task": SCHEDULER_TICK_TASK, "schedule": TICK_S,
                                             "options": {"expires": TICK_S}},
                          # operations: the embedded broker keeps delivered messages; delete old ones hourly
                          "broker-purge": {"task": "voxbank.purge_broker", "schedule": 3600.0,
                                           "options": {"expires": 3600.0}},
                          # audio at rest: WAV chunks the retention policy lets go (deploy/README.md)
                          "wav-purge": {"task": PURGE_WAV_TASK, "schedule": PURGE_WAV_EVERY_S,
                                        "options": {"expires": PURGE_WAV_EVERY_S}}},
    }


class _LazySettingsConfig(Mapping[str, Any]):
    """Celery's configuration, computed from ``get_settings()`` the first time Celery reads it."""

    def __init__(self) -> None:
        self._config: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._config is None:
            self._config = celery_config(get_settings())
        return self._config

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def create_app(settings: Settings | None = None) -> Celery:
    """A Celery app for ``settings`` (default: the process's settings, read when first used)."""
    celery = Celery("voxbank", set_as_current=settings is None, include=["voxbank.tasks"])
    if settings is None:
        celery.config_from_object(_LazySettingsConfig())
    else:
        celery.conf.update(celery_config(settings))
    return celery


app = create_app()
"""The process's app; ``voxbank.tasks`` registers the tasks on it."""

_producers: dict[tuple[str, int], Celery] = {}


def app_for(settings: Settings | None) -> Celery:
    """The app to send messages with: the process's app, or one for explicitly given settings; on the
    embedded broker, its queues are declared first (`voxbank.embedded_broker`)."""
    if settings is None:
        producer = app
    else:
        key = (settings.resolved_broker_url, settings.transcription_time_limit_s)
        if key not in _producers:
            _producers[key] = create_app(settings)
        producer = _producers[key]
    declare_queues(producer)
    return producer
