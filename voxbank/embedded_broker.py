"""The embedded broker's tables and queues, declared once per process before its first message moves.

kombu's SQLAlchemy transport (the embedded broker, ``sqla+sqlite:///<data_dir>/broker.db``) creates its
tables, and a queue's row, the first time a process uses them, each by looking and then writing. That is
not atomic across processes: a web process sending its first task while a worker starts on a fresh broker
(or two pool processes starting at once) can fail, one of them, with ``table kombu_queue already exists``
or ``UNIQUE constraint failed: kombu_queue.name``, and the task being sent is lost with that error.

`declare_queues` declares every queue of the app through kombu itself and, when another process won
the race, tries again: the second try finds what the winner wrote. After it, the transport's own
look-then-write only ever looks. Redis needs none of this (its queues are made by the first push).
"""

from __future__ import annotations

import threading

from celery import Celery
from kombu import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

ATTEMPTS = 5
"""Tries before giving up: each lost race is followed by a try that finds the winner's rows."""

_declared: set[str] = set()
_lock = threading.Lock()


def is_embedded_broker(url: str) -> bool:
    """Whether ``url`` names kombu's SQLAlchemy transport (the embedded broker)."""
    return url.startswith(("sqla+", "sqlalchemy+"))


def declare_queues(celery: Celery) -> None:
    """Create the embedded broker's tables and a row for each of ``celery``'s queues, once per process
    and broker; nothing for any other broker."""
    url = str(celery.conf.broker_url)
    if not is_embedded_broker(url) or url in _declared:
        return
    with _lock:
        if url in _declared:
            return
        for attempt in range(1, ATTEMPTS + 1):
            try:
                # A fresh connection each try: a channel whose write lost the race keeps a failed session.
                with Connection(url, transport_options=dict(celery.conf.broker_transport_options or {})) as connection:
                    channel = connection.default_channel
                    for queue in celery.conf.task_queues:
                        queue(channel).declare()
                break
            except (IntegrityError, OperationalError) as error:
                if attempt == ATTEMPTS:
                    raise RuntimeError(f"the embedded broker at {url} could not declare its queues after "
                                       f"{ATTEMPTS} tries ({error.orig}); check that its folder is writable "
                                       "and that no other program holds the database") from error
        _declared.add(url)
