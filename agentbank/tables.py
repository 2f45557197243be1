"""Tidy tables of answers: one row per person, wave and item, keyed by the agent's pseudonymous id.

``responses``: ``pseudonym_id, wave, instrument, item_id, value, value_text, label, missing``.
``value`` is the stored number (the option code for single_choice, the point for likert, the amount
for a game); ``label`` the option's label; ``value_text`` free text (scrubbed like the transcript);
``missing`` the GSS missing-data code where there is no substantive answer: ``IAP`` (the question
does not apply: the item's inapplicable answer, whose label stays in ``label``), ``NA`` (left
blank: declined), ``DK``. A row with a ``missing`` code has no ``value``.
Game decisions become rows of instrument ``games``. A decision is read from ``GameDecision.decision``
with ``storage.decisions.DecisionValue``, the model the journey writes it with: ``{"amount": 2}``,
``{"choice": 1}`` (the option code) or ``{"amounts": {"received_3": 1, ...}}``; any other shape is
refused with ``MalformedDecision`` naming the game.
Experiment outcomes are ``Response`` rows whose instrument is the experiment id.

``experiment_conditions``: ``pseudonym_id, wave, experiment_id, condition_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from agentbank.catalogue import GAMES, Catalogue
from storage.decisions import DecisionValue, MalformedDecision

RESPONSE_COLUMNS = ["pseudonym_id", "wave", "instrument", "item_id", "value", "value_text", "label", "missing"]
CONDITION_COLUMNS = ["pseudonym_id", "wave", "experiment_id", "condition_id"]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def game_values(game_id: str, decision: Mapping[str, Any], catalogue: Catalogue) -> list[tuple[str, float | None]]:
    """(item id, value) for each catalogue item a game decision answers."""
    cases = [item for item in catalogue.of(GAMES) if item.group == game_id]
    item = catalogue.get(GAMES, game_id)
    if not cases and item is None:
        return []
    try:
        value = DecisionValue.from_json(decision)
    except MalformedDecision as error:
        raise MalformedDecision(f"game {game_id}: {error}") from error
    if cases:
        amounts = value.amounts or {}
        return [(case.item_id, _number(amounts.get(case.item_id.split(".", 1)[1]))) for case in cases]
    assert item is not None
    return [(game_id, _number(value.choice if item.kind == "choice" else value.amount))]


def response_rows(
    pseudonym_id: str,
    responses: Iterable[Any],
    decisions: Iterable[Any],
    catalogue: Catalogue,
    wave_of_visit: Mapping[int, int],
    scrub_text: Callable[[str], str] | None = None,
) -> list[dict[str, Any]]:
    """Tidy rows for one person's ``Response`` and ``GameDecision`` rows (both waves)."""
    rows = []
    for response in responses:
        item = catalogue.get(response.instrument, response.item_id)
        text = response.value_text
        if text is not None and scrub_text is not None:
            text = scrub_text(text)
        missing = response.missing
        rows.append({
            "pseudonym_id": pseudonym_id, "wave": response.wave, "instrument": response.instrument,
            "item_id": response.item_id, "value": None if missing else response.value_number, "value_text": text,
            "label": item.label(response.value_number) if item else None, "missing": missing,
        })
    for decision in decisions:
        wave = wave_of_visit[decision.visit_id]
        for item_id, value in game_values(decision.game_id, decision.decision or {}, catalogue):
            item = catalogue.get(GAMES, item_id)
            rows.append({
                "pseudonym_id": pseudonym_id, "wave": wave, "instrument": GAMES, "item_id": item_id,
                "value": value, "value_text": None, "label": item.label(value) if item else None, "missing": None,
            })
    return rows


def responses_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The tidy responses table, sorted by person, wave, instrument and item."""
    frame = pd.DataFrame(rows, columns=RESPONSE_COLUMNS)
    frame["wave"] = frame["wave"].astype("Int64")
    frame["value"] = frame["value"].astype("Float64")
    for column in ("pseudonym_id", "instrument", "item_id", "value_text", "label", "missing"):
        frame[column] = frame[column].astype("string")
    return frame.sort_values(["pseudonym_id", "wave", "instrument", "item_id"], kind="stable").reset_index(drop=True)


def conditions_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The experiment-conditions table."""
    frame = pd.DataFrame(rows, columns=CONDITION_COLUMNS)
    frame["wave"] = frame["wave"].astype("Int64")
    for column in ("pseudonym_id", "experiment_id", "condition_id"):
        frame[column] = frame[column].astype("string")
    return frame.sort_values(CONDITION_COLUMNS, kind="stable").reset_index(drop=True)


def write_table(frame: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    """Write ``name.csv`` and ``name.parquet``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet, index=False)
    return [csv, parquet]


def read_responses(path: Path) -> pd.DataFrame:
    """Read a tidy responses table back (``.parquet`` or ``.csv``)."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"pseudonym_id": "string", "instrument": "string", "item_id": "string",
                                    "value_text": "string", "label": "string", "missing": "string"})
