"""``voxbank worker``: run a Celery worker for voxbank's queues."""

from __future__ import annotations

import os

import typer

from voxbank.celery_app import QUEUES
from voxbank.commands.errors import UsageError
from voxbank.settings import Settings


def worker(
    queues: str = typer.Option(",".join(QUEUES), "--queues", "-Q",
                               help="comma-separated queues to serve: default, gpu"),
    concurrency: int | None = typer.Option(None, "--concurrency", "-c", min=1,
                                           help="worker processes (default: 1 when serving gpu, else one per CPU)"),
    loglevel: str = typer.Option("INFO", "--loglevel", "-l", help="DEBUG, INFO, WARNING or ERROR"),
    beat: bool = typer.Option(False, "--beat", help="also run Celery beat: the scheduler's tick every minute "
                                                    "(run it in one worker only)"),
) -> None:
    """Run a Celery worker; Whisper loads once per worker process when it serves the gpu queue."""
    names = [name.strip() for name in queues.split(",") if name.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if not names or unknown:
        raise UsageError(f"--queues: unknown queue(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(QUEUES)}")
    if concurrency is None:
        # One process per GPU: each holds its own copy of the model.
        concurrency = 1 if "gpu" in names else (os.cpu_count() or 1)

    from voxbank.metrics import connect_celery_signals, prepare_process, serve_metrics
    from voxbank.settings import get_settings

    settings = get_settings()
    _take_over_celery_logging(settings, "worker+beat" if beat else "worker", loglevel)
    prepare_process("worker")  # before the pool forks: its processes write their metrics into one folder
    import voxbank.tasks  # noqa: F401  (registers the tasks and the worker signals)
    from voxbank.celery_app import app
    from voxbank.embedded_broker import declare_queues

    connect_celery_signals()
    serve_metrics(settings)
    declare_queues(app)  # before the pool forks, so its processes never race to create the broker's rows

    app.worker_main([
        "worker",
        f"--queues={','.join(names)}",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "--pool=prefork",
        f"--hostname=voxbank-{os.getpid()}@%h",
        # voxbank keeps its state in the database; worker-to-worker chatter only slows startup.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        *_beat_arguments(beat),
    ])


def beat(
    loglevel: str = typer.Option("INFO", "--loglevel", "-l", help="DEBUG, INFO, WARNING or ERROR"),
) -> None:
    """Run Celery beat alone: it sends the scheduler's tick every minute (run exactly one)."""
    from storage.files import private_directory
    from voxbank.metrics import serve_metrics
    from voxbank.settings import get_settings

    settings = get_settings()
    _take_over_celery_logging(settings, "beat", loglevel)
    from voxbank.celery_app import app
    from voxbank.embedded_broker import declare_queues

    serve_metrics(settings)
    declare_queues(app)
    # Beat opens its schedule file at once; with Redis as the broker nothing else may have made the folder yet.
    private_directory(settings.resolved_data_dir)
    app.start(["beat", f"--loglevel={loglevel}",
               f"--schedule={settings.resolved_data_dir / 'celerybeat-schedule'}"])


def _take_over_celery_logging(settings: Settings, process: str, loglevel: str) -> None:
    """voxbank's one logging configuration, in place of Celery's (a setup_logging receiver stops Celery's),
    at the level ``--loglevel`` asks for."""
    import logging

    from celery import signals

    from voxbank.logging_config import configure_logging

    def configure(**_: object) -> None:
        configure_logging(settings, process)
        logging.getLogger().setLevel(loglevel.upper())

    configure()
    signals.setup_logging.connect(configure, weak=False)


def _beat_arguments(beat: bool) -> list[str]:
    """Celery's options for an embedded beat, its schedule file kept in the data directory."""
    if not beat:
        return []
    from storage.files import private_directory
    from voxbank.settings import get_settings

    folder = get_settings().resolved_data_dir
    private_directory(folder)
    return ["--beat", f"--schedule-filename={folder / 'celerybeat-schedule'}"]
