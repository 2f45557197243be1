"""Metrics read from the database and the broker when Prometheus scrapes the web app.

Counts that live in the database (participants at each step) or in the broker (jobs waiting in
each queue) are read once per scrape, by whichever web worker answers it, instead of being kept
as counters in one process that the others could not see.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Visit
from web.broker_queues import queue_depths

log = logging.getLogger(__name__)

class StudyCollector(Collector):
    """``voxbank_participants`` by wave, visit status and step; ``voxbank_queue_depth`` by queue."""

    def __init__(self, session_factory: sessionmaker[Session], broker_url: str, queues: Sequence[str]) -> None:
        self.session_factory = session_factory
        self.broker_url = broker_url
        self.queues = queues

    def collect(self) -> Iterator[GaugeMetricFamily]:
        participants = GaugeMetricFamily("voxbank_participants", "Participants' visits by wave, status and step",
                                         labels=["wave", "status", "step"])
        for wave, status, step, count in self._steps():
            participants.add_metric([str(wave), status, step or "none"], count)
        yield participants
        depth = GaugeMetricFamily("voxbank_queue_depth", "Jobs waiting in each broker queue", labels=["queue"])
        for queue in queue_depths(self.broker_url, self.queues):
            if queue.messages is not None:  # the broker is down: /readyz says so; the scrape keeps the rest
                depth.add_metric([queue.queue], queue.messages)
            else:
                log.warning("could not read a queue depth from the broker", extra={"queue": queue.queue,
                                                                                    "problem": queue.problem})
        yield depth

    def _steps(self) -> list[tuple[int, str, str | None, int]]:
        with self.session_factory() as session:
            rows = session.execute(select(Visit.wave, Visit.status, Visit.current_step, func.count())
                                   .group_by(Visit.wave, Visit.status, Visit.current_step)).all()
        return [(int(wave), str(status), step, int(count)) for wave, status, step, count in rows]
