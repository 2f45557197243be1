"""Experiment conditions by blocked randomisation, balanced within each block, safe under concurrency.

Each experiment deals its conditions from blocks of ``block_size`` slots that hold every condition
equally often, shuffled. The block state lives in the database (``assignment_blocks``):

- the open block is the one with the highest index; a participant takes its next slot with
  ``UPDATE ... SET filled = filled + 1 WHERE id = :block AND filled = :seen`` and retries if someone
  else took that slot first;
- when the open block is full, the next one is inserted with ON CONFLICT DO NOTHING, so two entries
  opening it at once create it once.

The assignment row and the slot are written in the caller's transaction: if the transaction fails
(for example the same participant in two tabs, caught by the unique assignment), the slot is given
back by the rollback and the block stays balanced.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from protocols import Experiment
from storage.models import AssignmentBlock, ExperimentAssignment, utcnow
from survey.sql import insert_ignoring_conflicts

MAX_ATTEMPTS = 200
Shuffle = Callable[[list[str]], None]


def block_sequence(experiment: Experiment, shuffle: Shuffle) -> list[str]:
    """One block: every condition ``block_size / conditions`` times, shuffled."""
    per = experiment.assignment.block_size // len(experiment.conditions)
    sequence = [c.id for c in experiment.conditions for _ in range(per)]
    shuffle(sequence)
    return sequence


def assign_condition(session: Session, study_id: int, participant_id: int, experiment: Experiment, wave: int,
                     *, keep_from_wave: int | None = None, rng: random.Random | None = None) -> ExperimentAssignment:
    """The participant's condition in this experiment and wave, assigned now if it is not yet.

    With ``keep_from_wave``, a participant assigned in that wave keeps the same condition (the
    retest shows the same scenario); the block is not touched.
    """
    existing = _assignment(session, participant_id, experiment.id, wave)
    if existing is not None:
        return existing
    if keep_from_wave is not None:
        earlier = _assignment(session, participant_id, experiment.id, keep_from_wave)
        if earlier is not None:
            return _add(session, participant_id, experiment.id, wave, earlier.condition_id,
                        earlier.block_index, earlier.block_position)
    shuffle = (rng or random.SystemRandom()).shuffle
    for _ in range(MAX_ATTEMPTS):
        block = session.scalars(
            select(AssignmentBlock)
            .where(AssignmentBlock.study_id == study_id, AssignmentBlock.experiment_id == experiment.id)
            .order_by(AssignmentBlock.block_index.desc())
            .limit(1)
            .execution_options(populate_existing=True)
        ).first()
        if block is None or block.filled >= len(block.sequence):
            insert_ignoring_conflicts(session, AssignmentBlock, [{
                "study_id": study_id, "experiment_id": experiment.id,
                "block_index": 0 if block is None else block.block_index + 1,
                "sequence": block_sequence(experiment, shuffle), "filled": 0, "created_at": utcnow(),
            }], ["study_id", "experiment_id", "block_index"])
            continue
        seen = block.filled
        taken = session.execute(
            update(AssignmentBlock)
            .where(AssignmentBlock.id == block.id, AssignmentBlock.filled == seen)
            .values(filled=seen + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return _add(session, participant_id, experiment.id, wave, block.sequence[seen], block.block_index, seen)
    raise RuntimeError(f"could not take a randomisation slot for {experiment.id} after {MAX_ATTEMPTS} attempts")


def _assignment(session: Session, participant_id: int, experiment_id: str, wave: int) -> ExperimentAssignment | None:
    return session.scalars(
        select(ExperimentAssignment).where(
            ExperimentAssignment.participant_id == participant_id,
            ExperimentAssignment.experiment_id == experiment_id,
            ExperimentAssignment.wave == wave,
        )
    ).first()


def _add(session: Session, participant_id: int, experiment_id: str, wave: int, condition_id: str,
         block_index: int, block_position: int) -> ExperimentAssignment:
    row = ExperimentAssignment(participant_id=participant_id, experiment_id=experiment_id, wave=wave,
                               condition_id=condition_id, block_index=block_index, block_position=block_position)
    session.add(row)
    session.flush()
    return row
