"""Quota cells: a place is taken at entry, never beyond capacity, and given back on decline or withdrawal."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import QuotaCell
from survey import quotas
from survey.errors import InvalidEntry
from survey.journey import Journey

STRATA = {"age_band": "18_24", "gender": "male"}


def _cell(session: Session, journey: Journey, stratum: str, cell: str) -> QuotaCell:
    return session.scalars(select(QuotaCell).where(QuotaCell.study_id == journey.study_id,
                                                   QuotaCell.stratum == stratum, QuotaCell.cell == cell)).one()


def _set_capacity(session_factory: sessionmaker[Session], journey: Journey, stratum: str, cell: str,
                  capacity: int) -> None:
    with transaction(session_factory) as session:
        session.execute(update(QuotaCell).where(QuotaCell.study_id == journey.study_id, QuotaCell.stratum == stratum,
                                                QuotaCell.cell == cell).values(capacity=capacity))


def test_capacities_come_from_the_shares_and_the_total(session_factory: sessionmaker[Session],
                                                       journey: Journey) -> None:
    with session_factory() as session:
        assert _cell(session, journey, "*", "*").capacity == 1300
        assert _cell(session, journey, "age_band", "75_plus").capacity == 38  # ceil(0.0285 x 1300)
        assert _cell(session, journey, "gender", "female").capacity == 733  # ceil(0.5637 x 1300)
        assert len(session.scalars(select(QuotaCell)).all()) == 1 + 7 + 9 + 5 + 3 + 2 + 11 + 3 + 7


def test_a_full_cell_refuses_and_takes_nothing_elsewhere(session_factory: sessionmaker[Session],
                                                         journey: Journey) -> None:
    _set_capacity(session_factory, journey, "gender", "male", 2)
    results = []
    for _ in range(3):
        with transaction(session_factory) as session:
            results.append(quotas.reserve(session, journey.study_id, STRATA))
    assert results == [True, True, False]
    with session_factory() as session:
        assert _cell(session, journey, "gender", "male").filled == 2
        assert _cell(session, journey, "age_band", "18_24").filled == 2
        assert _cell(session, journey, "*", "*").filled == 2
    with transaction(session_factory) as session:
        quotas.release(session, journey.study_id, STRATA)
    with session_factory() as session:
        assert _cell(session, journey, "gender", "male").filled == 1
        assert _cell(session, journey, "*", "*").filled == 1


def test_answers_must_be_cells_of_the_study(journey: Journey) -> None:
    assert quotas.check_strata(journey.runtime, {"gender": "male", "shoe_size": "9"}) == {"gender": "male"}
    with pytest.raises(InvalidEntry, match="'robot' is not one of the answers to 'What is your gender\\?'"):
        quotas.check_strata(journey.runtime, {"gender": "robot"})
    assert quotas.missing_strata(journey.runtime, {"gender": "male"})[0] == "age_band"


def test_concurrent_entries_never_overfill_a_cell(backend: str, session_factory: sessionmaker[Session],
                                                  journey: Journey) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time, so entries cannot interleave; this race needs PostgreSQL")
    _set_capacity(session_factory, journey, "gender", "male", 25)
    taken: list[bool] = []
    lock = threading.Lock()

    def enter() -> None:
        for _ in range(10):
            with transaction(session_factory) as session:
                ok = quotas.reserve(session, journey.study_id, STRATA)
            with lock:
                taken.append(ok)

    threads = [threading.Thread(target=enter) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken.count(True) == 25
    with session_factory() as session:
        assert _cell(session, journey, "gender", "male").filled == 25
        assert _cell(session, journey, "age_band", "18_24").filled == 25
