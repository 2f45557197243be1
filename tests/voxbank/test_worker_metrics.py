"""A real ``voxbank worker``: its pool processes' metrics add up on its metrics port, behind the token."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from voxbank.celery_app import SCHEDULER_TICK_TASK, app_for
from voxbank.settings import Settings, load_settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("VOXBANK_")}
    environment.update(PYTHONPATH=str(REPO), VOXBANK_DATA_DIR=str(settings.data_dir),
                       VOXBANK_DATABASE_URL=settings.resolved_database_url, VOXBANK_METRICS_TOKEN=TOKEN,
                       VOXBANK_METRICS_LISTEN=f"127.0.0.1:{port}", VOXBANK_LOG_FORMAT="json")
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "voxbank", "worker", "--queues", "default",
                                "--concurrency", "2"], env=environment, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "worker.log").read_text()[-3000:])
                time.sleep(0.3)
        yield load_settings(**settings.model_dump()), url
    finally:
        process.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            process.wait(timeout=20)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
            process.wait(timeout=30)
            log.close()


def failures(url: str) -> float:
    text = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "voxbank_job_failures_total" and sample.labels == {"job": "scheduler_tick"})


def test_the_worker_metrics_port_needs_the_token(worker) -> None:
    _settings, url = worker
    response = httpx.get(url, timeout=5)
    assert response.status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).status_code == 200


def test_a_failed_task_in_a_pool_process_counts_in_the_workers_scrape(worker) -> None:
    settings, url = worker
    assert failures(url) == 0
    for _ in range(2):
        app_for(settings).send_task(SCHEDULER_TICK_TASK, args=["not a time"])
    deadline = time.monotonic() + 60
    while failures(url) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert failures(url) == 2
