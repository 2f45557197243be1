"""``voxbank worker``: run a Celery worker for voxbank's queues."""

from __future__ import annotations

import os

import typer

from voxbank.celery_app import QUEUES
from voxbank.commands.errors import UsageError


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

    import voxbank.tasks  # noqa: F401  (registers the tasks and the worker signals)
    from voxbank.celery_app import app

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


def _beat_arguments(beat: bool) -> list[str]:
    """Celery's options for an embedded beat, its schedule file kept in the data directory."""
    if not beat:
        return []
    from voxbank.settings import get_settings

    return ["--beat", f"--schedule-filename={get_settings().resolved_data_dir / 'celerybeat-schedule'}"]
