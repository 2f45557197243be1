"""Quota cells: reserve a place at entry, release it when someone declines or withdraws.

A place is taken by ``UPDATE ... SET filled = filled + 1 WHERE filled < capacity``: the database
decides, so two people entering at the same moment can never both take the last place. Cells are
always taken in the same order (the total first, then strata by id) so concurrent entries cannot
deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.models import Participant, QuotaCell, Visit, utcnow
from storage.states import ParticipantStatus, VisitStatus
from survey.errors import InvalidEntry
from survey.runtime import StudyRuntime
from survey.study_rows import TOTAL


def missing_strata(runtime: StudyRuntime, known: Mapping[str, str]) -> list[str]:
    """The strata whose question must still be asked, in study.yaml order."""
    quotas = runtime.protocol.spec.quotas
    return [s.id for s in quotas.strata if s.id not in known] if quotas else []


def check_strata(runtime: StudyRuntime, answers: Mapping[str, str]) -> dict[str, str]:
    """Keep only the study's strata, checking that each answer is one of the stratum's cells."""
    quotas = runtime.protocol.spec.quotas
    if quotas is None:
        return {}
    out = {}
    for stratum in quotas.strata:
        if stratum.id in answers:
            value = answers[stratum.id]
            if value not in {cell.id for cell in stratum.cells}:
                raise InvalidEntry(f"{value!r} is not one of the answers to {stratum.question!r}.")
            out[stratum.id] = value
    return out


def _cells(strata: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(TOTAL, TOTAL), *sorted(strata.items())]


def reserve(session: Session, study_id: int, strata: Mapping[str, str]) -> bool:
    """Take one place in the total and in each of the participant's cells; False (and nothing taken) if any is full."""
    taken: list[tuple[str, str]] = []
    for stratum, cell in _cells(strata):
        result = session.execute(
            update(QuotaCell)
            .where(QuotaCell.study_id == study_id, QuotaCell.stratum == stratum, QuotaCell.cell == cell,
                   QuotaCell.filled < QuotaCell.capacity)
            .values(filled=QuotaCell.filled + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            _give_back(session, study_id, taken)
            return False
        taken.append((stratum, cell))
    return True


def release(session: Session, study_id: int, strata: Mapping[str, str]) -> None:
    """Give back the places a participant held (when they decline consent or withdraw)."""
    _give_back(session, study_id, _cells(strata))


def _give_back(session: Session, study_id: int, cells: list[tuple[str, str]]) -> None:
    for stratum, cell in cells:
        session.execute(
            update(QuotaCell)
            .where(QuotaCell.study_id == study_id, QuotaCell.stratum == stratum, QuotaCell.cell == cell,
                   QuotaCell.filled > 0)
            .values(filled=QuotaCell.filled - 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


LAPSED = ParticipantStatus.LAPSED
"""A participant whose quota place was given back because they never signed the consent in time."""


def release_lapsed(session: Session, study_id: int, *, entered_before: datetime) -> int:
    """Give back the places of entries that went no further than the consent page before ``entered_before``.

    Anyone can open a study link, so places held by people (or scripts) who never sign the consent
    would otherwise fill the cells for good. Each is marked ``lapsed`` by a conditional UPDATE (the
    visit still at page 0, still ``started``), so a consent signed at the same moment wins or loses
    cleanly; a lapsed participant who comes back takes a place again if one is free
    (``survey.journey``). Returns how many places were released.
    """
    stale = session.execute(
        select(Visit.id, Participant.id, Participant.strata).join(Participant, Visit.participant_id == Participant.id)
        .where(Participant.study_id == study_id, Participant.status == ParticipantStatus.ACTIVE, Visit.wave == 1,
               Visit.status == VisitStatus.STARTED, Visit.position == 0, Visit.started_at < entered_before)
    ).all()
    released = 0
    for visit_id, participant_id, strata in stale:
        result = session.execute(
            update(Visit).where(Visit.id == visit_id, Visit.status == VisitStatus.STARTED, Visit.position == 0)
            .values(status=LAPSED).execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        session.execute(update(Participant).where(Participant.id == participant_id).values(status=LAPSED)
                        .execution_options(synchronize_session=False))
        release(session, study_id, strata or {})
        audit.record(session, "system:quotas", "participant.lapsed", f"participant:{participant_id}",
                     {"visit": visit_id})
        released += 1
    return released
