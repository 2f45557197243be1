"""Where the actual answers come from: a restricted export's tables, or the study database."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from agentbank.catalogue import Catalogue
from agentbank.pseudonyms import agent_id
from agentbank.tables import CONDITION_COLUMNS, conditions_frame, read_responses, response_rows, responses_frame
from storage.models import ExperimentAssignment, GameDecision, Participant, Response


def _pick(folder: Path, name: str) -> Path:
    for suffix in (".parquet", ".csv"):
        if (folder / f"{name}{suffix}").exists():
            return folder / f"{name}{suffix}"
    raise FileNotFoundError(f"{folder} has no {name}.parquet or {name}.csv: is it a restricted-tier export?")


def truth_from_export(folder: Path) -> tuple[pd.DataFrame, Catalogue]:
    """The responses table and catalogue of a restricted export."""
    catalogue_path = _pick(folder, "catalogue")
    if catalogue_path.suffix == ".parquet":
        catalogue = Catalogue.from_frame(pd.read_parquet(catalogue_path))
    else:
        catalogue = Catalogue.from_frame(pd.read_csv(catalogue_path, dtype={"source_id": str}))
    return read_responses(_pick(folder, "responses")), catalogue


def truth_from_database(session: Session, catalogue: Catalogue, people: set[str]) -> pd.DataFrame:
    """Both waves' answers of the participants whose agent id is in ``people`` (free text left out)."""
    participants = session.scalars(select(Participant).options(selectinload(Participant.visits))).all()
    rows = []
    for participant in participants:
        agent = agent_id(participant.pseudonym_id)
        if agent not in people:
            continue
        wave_of_visit = {visit.id: visit.wave for visit in participant.visits}
        if not wave_of_visit:
            continue
        responses = session.scalars(select(Response).where(Response.visit_id.in_(list(wave_of_visit)))).all()
        decisions = session.scalars(select(GameDecision).where(GameDecision.visit_id.in_(list(wave_of_visit)))).all()
        rows += response_rows(agent, [r for r in responses if r.value_text is None], decisions, catalogue,
                              wave_of_visit)
    return responses_frame(rows)


def conditions_from_export(folder: Path) -> pd.DataFrame:
    """The experiment conditions table of a restricted export (empty when it has none)."""
    try:
        path = _pick(folder, "experiment_conditions")
    except FileNotFoundError:
        return pd.DataFrame(columns=CONDITION_COLUMNS)
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype={"pseudonym_id": str})


def conditions_and_strata_from_database(session: Session, people: set[str]
                                        ) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    """The experiment conditions and the screening strata of the participants whose agent id is in ``people``."""
    participants = session.scalars(select(Participant)).all()
    rows: list[dict[str, object]] = []
    strata: dict[str, dict[str, str]] = {}
    for participant in participants:
        agent = agent_id(participant.pseudonym_id)
        if agent not in people:
            continue
        strata[agent] = {str(k): str(v) for k, v in (participant.strata or {}).items()}
        for assignment in session.scalars(select(ExperimentAssignment)
                                          .where(ExperimentAssignment.participant_id == participant.id)):
            rows.append({"pseudonym_id": agent, "wave": assignment.wave, "experiment_id": assignment.experiment_id,
                         "condition_id": assignment.condition_id})
    return conditions_frame(rows), strata
