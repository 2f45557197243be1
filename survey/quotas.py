"""Quota cells: reserve a place at entry, release it when someone declines or withdraws.

A place is taken by ``UPDATE ... SET filled = filled + 1 WHERE filled < capacity``: the database
decides, so two people entering at the same moment can never both take the last place. Cells are
always taken in the same order (the total first, then strata by id) so concurrent entries cannot
deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.models import QuotaCell, utcnow
from survey.errors import InvalidEntry
from survey.runtime import StudyRuntime
from survey.sync import TOTAL


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
