"""Beat's audio retention sweep: delete the WAV chunks the policy lets go, and re-send lost archive messages.

``interviewer.transcription.retention`` holds the policy's checks and the deletion; this module wires
it to the settings and to Celery. Beat sends ``voxbank.purge_wav`` every ``PURGE_WAV_EVERY_S``; two
beats, or two workers taking a message each, purge every recording once (the deletion is a
compare-and-set). ``voxbank purge-wav`` runs the same sweep by hand, with ``--dry-run`` to list what
would go.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from interviewer.transcription.retention import PurgeReport, interviews_missing_archive, purge_wav
from storage.db import make_session_factory
from voxbank import wiring
from voxbank.celery_app import PURGE_WAV_TASK, app
from voxbank.settings import Settings, get_settings

log = logging.getLogger(__name__)


def run_sweep(settings: Settings, *, dry_run: bool = False, now: datetime | None = None,
              resend_archives: bool = True) -> tuple[PurgeReport, list[int]]:
    """Purge what the policy allows (``dry_run``: only decide); re-send the archive message of transcribed
    interviews still without their Opus copy. Returns the report and the interviews re-sent."""
    from voxbank.tasks import send_archive

    engine = wiring.database_engine(settings)
    try:
        factory = make_session_factory(engine)
        blobs = wiring.blob_store(settings)
        resent = []
        if resend_archives and not dry_run:
            for interview_id in interviews_missing_archive(factory, now=now):
                send_archive(interview_id, settings)
                resent.append(interview_id)
        report = purge_wav(factory, blobs, retention_s=settings.audio_wav_retention_s, now=now, dry_run=dry_run)
    finally:
        engine.dispose()
    return report, resent


@app.task(name=PURGE_WAV_TASK, ignore_result=True)
def purge_wav_task() -> dict[str, Any]:
    """Beat's hourly audio retention sweep; returns counts for the worker's log."""
    report, resent = run_sweep(get_settings())
    summary = {**report.summary(), "archives_resent": len(resent)}
    log.info("audio retention sweep", extra=summary)
    return summary
