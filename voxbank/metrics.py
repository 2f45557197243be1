"""Metrics wiring for voxbank's processes: multiprocess mode, and the metrics port of non-web processes.

* `prepare_process(kind)`: called by each launcher (serve, worker, agent) before it starts the
  processes that do the work. It gives the process group a fresh, empty folder for
  prometheus_client's multiprocess files (``PROMETHEUS_MULTIPROC_DIR``, which prometheus_client
  reads itself) so that uvicorn's workers and Celery's pool processes add up in one scrape.
* `serve_metrics(settings)`: a worker, beat or agent process has no web app; it serves its
  process group's metrics on ``VOXBANK_METRICS_LISTEN``, behind the same bearer token as the
  web app's ``/metrics``. Not started without both settings.
* Celery signals: a failed task counts in ``voxbank_job_failures``; a pool process that exits
  is marked dead so that its live gauges stop counting.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from voxbank.settings import Settings

log = logging.getLogger(__name__)

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare_process(kind: str) -> str:
    """Give this process group a fresh multiprocess folder; returns its path.

    Must run before the processes that record metrics start (uvicorn workers are spawned, Celery's
    pool is forked: both inherit the variable). The folder is new each time, as prometheus_client
    requires: files left by an earlier run would be added to this one's counts.
    """
    folder = tempfile.mkdtemp(prefix=f"voxbank-metrics-{kind}-")
    os.environ[MULTIPROC_VARIABLE] = folder
    from prometheus_client import values

    # prometheus_client chose its value class when first imported; choose again now that the folder is set.
    values.ValueClass = values.get_value_class()
    return folder


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Scrapes every few seconds are not worth a log line each."""


def metrics_wsgi_app(token: str) -> Callable[..., Iterable[bytes]]:
    """A WSGI app serving this process group's metrics to requests carrying the bearer token."""
    from prometheus_client import make_wsgi_app

    from interviewer.metrics import scrape_registry
    from web.routes.metrics import bearer_matches

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not bearer_matches(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"a valid bearer token is needed\n"]
        return make_wsgi_app(scrape_registry())(environ, start_response)  # type: ignore[no-any-return]

    return app


def serve_metrics(settings: Settings) -> Any | None:
    """Serve metrics on ``metrics_listen`` in a daemon thread; returns the server (None when off)."""
    if settings.metrics_listen is None or settings.metrics_token is None:
        return None
    host, _, port = settings.metrics_listen.rpartition(":")
    from prometheus_client.exposition import ThreadingWSGIServer

    server = make_server(host.strip("[]"), int(port), metrics_wsgi_app(settings.metrics_token.get_secret_value()),
                         ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("serving metrics", extra={"listen": settings.metrics_listen})
    return server


def connect_celery_signals() -> None:
    """Count failed tasks, and forget the live gauges of pool processes that exit."""
    from celery import signals

    signals.task_failure.connect(_count_failure, weak=False)
    signals.worker_process_shutdown.connect(_mark_dead, weak=False)


def _count_failure(sender: Any = None, **_: Any) -> None:
    from interviewer.metrics import JOB_FAILURES

    name = getattr(sender, "name", None) or "unknown"
    JOB_FAILURES.labels(job=name.removeprefix("voxbank.")).inc()


def _mark_dead(pid: int | None = None, **_: Any) -> None:
    from prometheus_client import multiprocess

    from interviewer.metrics import multiprocess_enabled

    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid or os.getpid())
