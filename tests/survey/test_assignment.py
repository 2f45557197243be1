"""Blocked randomisation keeps every experiment balanced, also when participants enter at once."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import AssignmentBlock, ExperimentAssignment, Participant
from survey.assignment import assign_condition
from survey.journey import Journey


def _participants(session_factory: sessionmaker[Session], journey: Journey, count: int) -> list[int]:
    with transaction(session_factory) as session:
        rows = [Participant(study_id=journey.study_id, prolific_pid=f"{n:024x}", pseudonym_id=str(uuid.uuid4()))
                for n in range(count)]
        session.add_all(rows)
        session.flush()
        return [p.id for p in rows]


def _check_balance(session: Session, journey: Journey) -> None:
    for experiment in journey.runtime.experiments.values():
        rows = session.scalars(select(ExperimentAssignment).where(ExperimentAssignment.experiment_id == experiment.id)
                               .order_by(ExperimentAssignment.block_index, ExperimentAssignment.block_position)).all()
        size, conditions = experiment.assignment.block_size, [c.id for c in experiment.conditions]
        per = size // len(conditions)
        by_block: dict[int, list[str]] = defaultdict(list)
        for row in rows:
            by_block[row.block_index].append(row.condition_id)
        slots = {(row.block_index, row.block_position) for row in rows}
        assert len(slots) == len(rows), "a slot was dealt twice"
        for index, dealt in by_block.items():
            if len(dealt) == size:
                assert Counter(dealt) == dict.fromkeys(conditions, per), (experiment.id, index)
        totals = Counter(row.condition_id for row in rows)
        spread = max(totals.get(c, 0) for c in conditions) - min(totals.get(c, 0) for c in conditions)
        assert spread <= per, (experiment.id, totals)


def test_a_thousand_entries_stay_balanced_within_each_block(session_factory: sessionmaker[Session],
                                                            journey: Journey) -> None:
    ids = _participants(session_factory, journey, 1000)
    experiments = list(journey.runtime.experiments.values())
    rng = random.Random(2024)
    running: dict[str, Counter[str]] = defaultdict(Counter)
    for participant_id in ids:
        with transaction(session_factory) as session:
            for experiment in experiments:
                row = assign_condition(session, journey.study_id, participant_id, experiment, 1, rng=rng)
                running[experiment.id][row.condition_id] += 1
                counts = running[experiment.id]
                per = experiment.assignment.block_size // len(experiment.conditions)
                spread = max(counts.get(c.id, 0) for c in experiment.conditions) - min(
                    counts.get(c.id, 0) for c in experiment.conditions)
                assert spread <= per  # at every moment, never more than one block's imbalance
    with session_factory() as session:
        _check_balance(session, journey)
        assert session.scalars(select(ExperimentAssignment)).all().__len__() == 5000
        blocks = Counter(b.experiment_id for b in session.scalars(select(AssignmentBlock)))
        assert blocks == {"ames_fiske_2015": 250, "cooney_gilbert_wilson_2016": 125, "halevy_halali_2015": 250,
                          "rai_valdesolo_graham_2017": 250, "schilke_reimann_cook_2015": 250}
    assert {e: dict(c) for e, c in running.items()}["cooney_gilbert_wilson_2016"] == {
        "fair_bonus": 250, "fair_no_bonus": 250, "unfair_bonus": 250, "unfair_no_bonus": 250}


def test_assignment_is_once_per_participant_and_kept_in_the_retest(session_factory: sessionmaker[Session],
                                                                   journey: Journey) -> None:
    (participant_id,) = _participants(session_factory, journey, 1)
    experiment = journey.runtime.experiments["ames_fiske_2015"]
    with transaction(session_factory) as session:
        first = assign_condition(session, journey.study_id, participant_id, experiment, 1)
        again = assign_condition(session, journey.study_id, participant_id, experiment, 1)
        retest = assign_condition(session, journey.study_id, participant_id, experiment, 2, keep_from_wave=1)
        assert again.id == first.id
        assert (retest.condition_id, retest.block_index, retest.block_position) == (
            first.condition_id, first.block_index, first.block_position)
        assert session.scalars(select(AssignmentBlock)).one().filled == 1


def test_concurrent_entries_never_share_a_slot(backend: str, session_factory: sessionmaker[Session],
                                               journey: Journey) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time, so entries cannot interleave; this race needs PostgreSQL")
    ids = _participants(session_factory, journey, 240)
    experiments = list(journey.runtime.experiments.values())
    errors: list[BaseException] = []

    def enter(chunk: list[int]) -> None:
        try:
            for participant_id in chunk:
                with transaction(session_factory) as session:
                    for experiment in experiments:
                        assign_condition(session, journey.study_id, participant_id, experiment, 1)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=enter, args=(ids[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_factory() as session:
        assert len(session.scalars(select(ExperimentAssignment)).all()) == 240 * 5
        _check_balance(session, journey)
        for block in session.scalars(select(AssignmentBlock)):
            dealt = session.scalars(select(ExperimentAssignment).where(
                ExperimentAssignment.experiment_id == block.experiment_id,
                ExperimentAssignment.block_index == block.block_index)).all()
            assert block.filled == len(dealt)
            in_order = sorted(dealt, key=lambda a: a.block_position)
            assert [a.condition_id for a in in_order] == block.sequence[:block.filled]
