"""The embedded broker's periodic purge: delete messages that were delivered long ago.

kombu's SQLAlchemy transport (the embedded broker) never deletes a message: delivering it only sets
``visible = false`` and stamps ``timestamp`` with the delivery time (local time, as kombu writes it).
Without a purge ``kombu_message`` grows by one row per job forever. Rows still visible (waiting) are
never touched; a delivered row is deleted once it is older than ``VOXBANK_BROKER_PURGE_AFTER_S``.
The transport never redelivers a delivered row, so deleting it loses nothing (the database lease in
``interviewer.transcription.jobs`` is what brings back a job whose worker died).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import column, delete, false, inspect, table
from sqlalchemy.types import Boolean, DateTime

from storage.db import make_engine
from voxbank.celery_app import app
from voxbank.embedded_broker import is_embedded_broker
from voxbank.settings import get_settings

log = logging.getLogger(__name__)

PURGE_BROKER_TASK = "voxbank.purge_broker"
MESSAGES = table("kombu_message", column("visible", Boolean), column("timestamp", DateTime))


def purge_delivered(broker_url: str, older_than_s: float, *, now: datetime | None = None) -> int:
    """Delete the embedded broker's messages delivered more than ``older_than_s`` ago; returns how many.

    Other brokers (Redis) delete a message when it is acknowledged: nothing to do, returns 0.
    """
    if not is_embedded_broker(broker_url):
        return 0
    cutoff = (now or datetime.now()) - timedelta(seconds=older_than_s)  # kombu stamps local time
    engine = make_engine(broker_url.split("+", 1)[1])
    try:
        if not inspect(engine).has_table("kombu_message"):
            return 0
        with engine.begin() as connection:
            result = connection.execute(delete(MESSAGES).where(MESSAGES.c.visible == false(),
                                                               MESSAGES.c.timestamp < cutoff))
        return int(result.rowcount or 0)
    finally:
        engine.dispose()


@app.task(name=PURGE_BROKER_TASK, ignore_result=True)
def purge_broker() -> int:
    """Beat's hourly purge of the embedded broker's delivered messages."""
    settings = get_settings()
    deleted = purge_delivered(settings.resolved_broker_url, settings.broker_purge_after_s)
    log.info("embedded broker purged", extra={"deleted_messages": deleted})
    return deleted
