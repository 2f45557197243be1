"""Processes that use a fresh embedded broker at once all get its queues; no first task is lost to a race."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlalchemy import create_engine, text

from voxbank.celery_app import QUEUES, app_for, create_app
from voxbank.settings import Settings, load_settings

PROCESSES = 4
FRESH_BROKERS = 6


def queue_names(database: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM kombu_queue ORDER BY name")).scalars().all()
    engine.dispose()
    return list(names)


def declare_when_all_are_ready(data_dir: str, ready: multiprocessing.synchronize.Barrier,
                               outcomes: multiprocessing.Queue[str]) -> None:
    from voxbank.embedded_broker import declare_queues

    app = create_app(load_settings(data_dir=data_dir))
    ready.wait()
    try:
        declare_queues(app)
        outcomes.put("declared")
    except Exception as error:  # the outcome the test reports, whatever it is
        outcomes.put(f"{type(error).__name__}: {error}")


def test_sending_declares_every_queue_on_a_fresh_embedded_broker(settings: Settings) -> None:
    app_for(settings)
    assert queue_names(settings.resolved_data_dir / "broker.db") == sorted(QUEUES)


def test_processes_declaring_a_fresh_embedded_broker_at_once_all_succeed(tmp_path: Path) -> None:
    # kombu's own declaration failed in 5 of 10 such starts of four processes (a table or a queue row
    # created twice): this is the start a web process and a new worker make together.
    context = multiprocessing.get_context("fork")
    for broker in range(FRESH_BROKERS):
        data_dir = tmp_path / f"broker-{broker}"
        ready, outcomes = context.Barrier(PROCESSES), context.Queue()
        processes = [context.Process(target=declare_when_all_are_ready, args=(str(data_dir), ready, outcomes))
                     for _ in range(PROCESSES)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert sorted(outcomes.get(timeout=5) for _ in processes) == ["declared"] * PROCESSES
        assert queue_names(data_dir / "broker.db") == sorted(QUEUES)


def test_a_redis_broker_is_left_alone(tmp_path: Path) -> None:
    # nothing listens on port 9: a connection attempt would fail, so success means none was made
    app_for(load_settings(data_dir=tmp_path, broker_url="redis://127.0.0.1:9/0"))
    assert not (tmp_path / "broker.db").exists()

