"""Wiring for the retest scheduler: build it from the settings, and the Celery beat tick that runs it.

``voxbank worker --beat`` runs Celery beat inside the worker; beat sends ``voxbank.scheduler_tick``
every ``TICK_S`` seconds (``celery_app.celery_config``'s ``beat_schedule``), and whichever worker takes
the message plans and sends what is due (``survey.scheduling``). Two beats, two workers or a tick
that overlaps the next are harmless: every action is claimed before it is sent. The task takes no
personal data; ``at`` (an ISO time, UTC) lets a rehearsal or a test run the tick as if it were then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from interviewer.voice.presence import abandon_stale
from protocols import default_study_dir
from storage.db import make_session_factory
from storage.models import utcnow
from survey.prolific_api import ProlificClient
from survey.scheduling import ProlificSetup, Scheduler, ScheduleSource, shifted_clock
from voxbank.celery_app import SCHEDULER_TICK_TASK, TICK_S, app
from voxbank.settings import Settings, get_settings
from voxbank.wiring import database_engine

logger = logging.getLogger(__name__)

TICK_BUDGET_S = 0.75 * TICK_S
"""A tick stops taking new actions after this long, so ticks do not pile up behind each other."""


def parse_at(value: str) -> datetime:
    """An ISO time given on the command line or to the task; naive times are read as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def prolific_client(settings: Settings) -> ProlificClient | None:
    """A Prolific client when a token is set, else None (the scheduler then sends nothing)."""
    if settings.prolific_token is None:
        return None
    return ProlificClient(settings.prolific_api_url, settings.prolific_token.get_secret_value())


@contextmanager
def open_scheduler(settings: Settings, *, at: datetime | None = None) -> Iterator[Scheduler]:
    """The scheduler for these settings (clock running from ``at`` when given); its Prolific client
    and database engine are closed when the block ends."""
    engine = database_engine(settings)
    schedule = ScheduleSource.for_study_dir(settings.study_dir or default_study_dir())
    setup = ProlificSetup(settings.prolific_retest_study_id, settings.prolific_retest_group_id)
    clock = shifted_clock(at) if at is not None else utcnow
    scheduler = Scheduler(make_session_factory(engine), schedule, prolific_client(settings), setup, clock=clock)
    try:
        yield scheduler
    finally:
        if scheduler.client is not None:
            scheduler.client.close()
        engine.dispose()


@app.task(name=SCHEDULER_TICK_TASK, ignore_result=True)
def scheduler_tick(at: str | None = None) -> dict[str, Any]:
    """Plan and send what is due now (or at ``at``), and mark abandoned the interviews nobody is at;
    returns counts for the worker's log."""
    settings = get_settings()
    with open_scheduler(settings, at=parse_at(at) if at else None) as scheduler:
        report = scheduler.run_due(budget_s=TICK_BUDGET_S)
        abandoned = abandon_stale(scheduler.factory, settings.voice_abandon_after_s, now=scheduler.clock())
    summary = {result: report.count(result) for result in ("sent", "cancelled", "later", "retry", "failed", "lost")}
    summary.update(planned=report.planned.created, waiting_for_prolific=report.waiting_for_prolific,
                   abandoned=len(abandoned))
    logger.info("scheduler tick", extra=summary)
    return summary
