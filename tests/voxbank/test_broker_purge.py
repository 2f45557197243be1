"""The embedded broker forgets delivered messages after a while, and never a waiting one."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path

from kombu import Connection
from sqlalchemy import create_engine, text

from voxbank.broker_purge import purge_delivered
from voxbank.celery_app import celery_config
from voxbank.settings import load_settings


def rows(database: Path) -> list[tuple[int, str]]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        found = connection.execute(text("SELECT visible, payload FROM kombu_message ORDER BY id")).all()
    engine.dispose()
    return [(int(visible), payload) for visible, payload in found]


def broker_with_three_messages_two_delivered(tmp_path: Path) -> tuple[str, Path]:
    database = tmp_path / "broker.db"
    url = f"sqla+sqlite:///{database}"
    with Connection(url) as connection:
        queue = connection.SimpleQueue("default")
        for body in ("first", "second", "third"):
            queue.put(body)
        for _ in range(2):
            queue.get(block=False).ack()
        queue.close()
    return url, database


def test_delivered_messages_older_than_the_setting_are_deleted_and_waiting_ones_kept(tmp_path: Path) -> None:
    url, database = broker_with_three_messages_two_delivered(tmp_path)
    assert [visible for visible, _ in rows(database)] == [0, 0, 1]
    assert purge_delivered(url, 3600, now=datetime.now() + timedelta(hours=2)) == 2
    [(visible, payload)] = rows(database)
    assert visible == 1 and base64.b64decode(json.loads(payload)["body"]) == b"third"


def test_recently_delivered_messages_stay_until_they_are_old_enough(tmp_path: Path) -> None:
    url, database = broker_with_three_messages_two_delivered(tmp_path)
    assert purge_delivered(url, 3600) == 0
    assert len(rows(database)) == 3


def test_redis_deletes_on_acknowledgement_so_there_is_nothing_to_purge() -> None:
    assert purge_delivered("redis://127.0.0.1:6379/0", 3600) == 0


def test_beat_sends_the_purge_every_hour(tmp_path: Path) -> None:
    schedule = celery_config(load_settings(data_dir=tmp_path))["beat_schedule"]
    assert schedule["broker-purge"]["task"] == "voxbank.purge_broker"
    assert schedule["broker-purge"]["schedule"] == 3600.0
