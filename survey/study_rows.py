"""Keep the database's Study row and quota cells in step with the loaded protocol."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.models import QuotaCell, Study, utcnow
from survey.runtime import StudyRuntime
from survey.sql import insert_ignoring_conflicts

TOTAL = "*"


def sync_study(session: Session, runtime: StudyRuntime) -> Study:
    """Create or update the Study row (slug, title, version, hash) and its quota cells; return the row.

    Safe to run from several processes at once: rows are inserted with ON CONFLICT DO NOTHING.
    A cell's capacity is ``ceil(share x total)``; the study-wide total is the cell ``*``/``*``.
    """
    insert_ignoring_conflicts(session, Study, [{
        "slug": runtime.slug, "title": runtime.title, "protocol_version": runtime.version,
        "protocol_hash": runtime.protocol_hash, "created_at": utcnow(),
    }], ["slug"])
    study = session.scalars(select(Study).where(Study.slug == runtime.slug)).one()
    if (study.protocol_version, study.protocol_hash, study.title) != (
            runtime.version, runtime.protocol_hash, runtime.title):
        audit.record(session, "system:sync", "study.protocol_update", f"study:{study.id}",
                     {"from_version": study.protocol_version, "to_version": runtime.version,
                      "from_hash": study.protocol_hash, "to_hash": runtime.protocol_hash})
        study.protocol_version = runtime.version
        study.protocol_hash = runtime.protocol_hash
        study.title = runtime.title
    quotas = runtime.protocol.spec.quotas
    if quotas is not None:
        wanted = {(TOTAL, TOTAL): quotas.total}
        for stratum in quotas.strata:
            for cell in stratum.cells:
                wanted[(stratum.id, cell.id)] = math.ceil(cell.share * quotas.total)
        insert_ignoring_conflicts(session, QuotaCell, [
            {"study_id": study.id, "stratum": s, "cell": c, "capacity": cap, "filled": 0, "updated_at": utcnow()}
            for (s, c), cap in wanted.items()
        ], ["study_id", "stratum", "cell"])
        for row in session.scalars(select(QuotaCell).where(QuotaCell.study_id == study.id)):
            capacity = wanted.get((row.stratum, row.cell))
            if capacity is not None and row.capacity != capacity:
                row.capacity = capacity
                row.updated_at = utcnow()
    session.flush()
    return study
