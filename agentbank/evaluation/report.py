"""Score a predictions file against the participants' own answers: per-person table, summary, DPD.

**Predictions file** (CSV, one row per predicted answer, header required)::

    pseudonym_id,instrument,item_id,value
    0b7d8d3e-4a1c-4f2e-9a57-1e6b2c3d4e5f,gss_core,natspac,1
    0b7d8d3e-4a1c-4f2e-9a57-1e6b2c3d4e5f,gss_core,natenvir,Too little
    0b7d8d3e-4a1c-4f2e-9a57-1e6b2c3d4e5f,bfi44,bfi01,4
    0b7d8d3e-4a1c-4f2e-9a57-1e6b2c3d4e5f,games,game3_TF2.received_6,2

``pseudonym_id`` is the agent's id (its folder name in a restricted export); ``instrument`` and
``item_id`` are those of the export's catalogue; ``value`` is the option code, likert point,
number or game amount, or the option's exact label (matched without regard to case). An unknown
person, item, label or a repeated row is an error naming the line.

Per person (columns of the report): GSS categorical accuracy, test-retest accuracy, normalised
accuracy, one-hot correlation, test-retest and normalised correlation; GSS numerical normalised
MAE (agent and test-retest); BFI trait MAE and r (agent, test-retest, normalised r); games MAE and
r (same). The comparison set for the GSS is the items the person answered in both waves, less
any item the agents were **given as input** (``given``: a demographic agent knows five GSS
answers, ``agentbank.baselines``); ``gss_given_items`` counts the predictions left out for that
reason, so a score never rests on an answer the agent was handed. Items without a substantive
wave-1 answer are not scored either, and are counted apart as the GSS does: ``gss_inapplicable``
(IAP, the question does not apply: a skip by design) and ``gss_declined`` (NA, left blank).
Definitions: ``agentbank.evaluation.metrics``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from agentbank.catalogue import GAMES, Catalogue
from agentbank.evaluation import metrics

GSS, BFI = "gss_core", "bfi44"
PREDICTION_COLUMNS = ["pseudonym_id", "instrument", "item_id", "value"]
REPORT_COLUMNS = [
    "pseudonym_id", "gss_items", "gss_predicted", "gss_given_items", "gss_inapplicable", "gss_declined",
    "gss_accuracy", "gss_retest_accuracy", "gss_normalized_accuracy",
    "gss_correlation", "gss_retest_correlation", "gss_normalized_correlation",
    "gss_numeric_mae", "gss_numeric_retest_mae",
    "gss_numeric_correlation", "gss_numeric_retest_correlation", "gss_numeric_normalized_correlation",
    "bfi_mae", "bfi_retest_mae", "bfi_correlation", "bfi_retest_correlation", "bfi_normalized_correlation",
    "games_mae", "games_retest_mae", "games_correlation", "games_retest_correlation",
    "games_normalized_correlation",
]
CORRELATIONS = {c for c in REPORT_COLUMNS if c.endswith("correlation") and "normalized" not in c}

# The DPD's demographic variables: the 11 of Park et al.'s SM Table 5, each read from the screening
# strata (Participant.strata: the SM's recruiter-provided demographics) when recorded there, else from
# the person's GSS answers (wave 1, else wave 2), the MAIN text's source. The shipped study collects
# no sexual orientation: its rows report no groups rather than a made-up value.
DPD_VARIABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "age": (("strata", "age_band"), ("gss", "age")),
    "census_division": (("strata", "census_division"),),
    "political_ideology": (("strata", "political_ideology"), ("gss", "polviews")),
    "party": (("gss", "partyid"),),
    "education": (("strata", "education"), ("gss", "degree")),
    "race": (("strata", "race"), ("gss", "race")),
    "ethnicity": (("gss", "hispanic"),),
    "gender": (("strata", "gender"), ("gss", "sex")),
    "income": (("strata", "income"), ("gss", "income")),
    "neighborhood": (("strata", "neighborhood"),),
    "sexual_orientation": (("strata", "sexual_orientation"),),
}
MIN_GROUP = 5
"""A subgroup smaller than this is left out of the DPD: one or two people would set the gap alone."""
AGE_BANDS = ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 74), (75, 200))
# metric -> scale factor: GSS accuracy in percentage points as in SM Table 5; correlations as r.
DPD_METRICS = {"gss_accuracy": 100.0, "gss_normalized_accuracy": 1.0, "bfi_correlation": 1.0,
               "games_correlation": 1.0}


class PredictionsError(ValueError):
    """The predictions file is malformed; the message names the line and the fix."""


def read_predictions(path: Path, catalogue: Catalogue, known_people: set[str] | None = None) -> pd.DataFrame:
    """Read and check a predictions file; ``value`` comes back as a number (labels become codes)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise PredictionsError(f"{path}: cannot read as CSV: {error}") from None
    missing = [column for column in PREDICTION_COLUMNS if column not in frame.columns]
    if missing:
        raise PredictionsError(f"{path}: missing column(s) {', '.join(missing)}; the header must be "
                               f"{','.join(PREDICTION_COLUMNS)}")
    problems: list[str] = []
    values: list[float] = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, row in enumerate(frame.to_dict("records")):
        line = index + 2
        key = (row["pseudonym_id"].strip(), row["instrument"].strip(), row["item_id"].strip())
        item = catalogue.get(key[1], key[2])
        value = math.nan
        if known_people is not None and key[0] not in known_people:
            problems.append(f"line {line}: unknown pseudonym_id {key[0]!r}")
        if item is None:
            problems.append(f"line {line}: unknown item {key[1]}/{key[2]} (see the catalogue)")
        else:
            value = _parse_value(row["value"], item, line, problems)
        if key in seen:
            problems.append(f"line {line}: repeats line {seen[key]} ({key[1]}/{key[2]})")
        seen.setdefault(key, line)
        values.append(value)
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise PredictionsError(f"{path}:\n  " + "\n  ".join(shown))
    out = pd.DataFrame({column: frame[column].str.strip() for column in PREDICTION_COLUMNS[:3]})
    out["value"] = pd.Series(values, dtype=float)
    return out


def _parse_value(text: str, item: Any, line: int, problems: list[str]) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    for code, label in item.options:
        if label.casefold() == text.casefold():
            return float(code)
    problems.append(f"line {line}: {text!r} is neither a number nor an option label of {item.item_id}")
    return math.nan


@dataclass
class Answers:
    """One person's answers by wave, and the agent's predictions, keyed by (instrument, item id)."""

    wave1: dict[tuple[str, str], float]
    wave2: dict[tuple[str, str], float]
    predicted: dict[tuple[str, str], float]

    def of(self, source: str, instrument: str) -> dict[str, float]:
        """One source's answers (``wave1``, ``wave2`` or ``predicted``) for one instrument, by item id."""
        answers: dict[tuple[str, str], float] = getattr(self, source)
        return {item: value for (name, item), value in answers.items() if name == instrument}


def _by_person(frame: pd.DataFrame) -> dict[str, dict[tuple[str, str], float]]:
    out: dict[str, dict[tuple[str, str], float]] = {}
    for row in frame.itertuples(index=False):
        if row.value is None or pd.isna(row.value):
            continue
        out.setdefault(str(row.pseudonym_id), {})[(str(row.instrument), str(row.item_id))] = float(row.value)
    return out


def score_person(answers: Answers, catalogue: Catalogue, given: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The report row for one person (without ``pseudonym_id``); GSS items in ``given`` are not scored."""
    w1, w2, pred = (answers.of(s, GSS) for s in ("wave1", "wave2", "predicted"))
    scored = [i for i in catalogue.of(GSS) if i.item_id not in given]
    categorical = [i for i in scored if i.kind == "single_choice" and i.item_id in w1 and i.item_id in w2]
    numeric = [i for i in scored if i.kind == "number" and i.item_id in w1]
    ids = [i.item_id for i in categorical]
    row: dict[str, Any] = {"gss_items": len(ids), "gss_predicted": sum(1 for i in ids if i in pred),
                           "gss_given_items": sum(1 for item in pred if item in given)}
    row["gss_accuracy"] = metrics.accuracy(pred, w1, ids)
    row["gss_retest_accuracy"] = metrics.accuracy(w2, w1, ids)
    row["gss_normalized_accuracy"] = metrics.normalised(row["gss_accuracy"], row["gss_retest_accuracy"])
    row["gss_correlation"] = metrics.one_hot_correlation(pred, w1, categorical)
    row["gss_retest_correlation"] = metrics.one_hot_correlation(w2, w1, categorical)
    row["gss_normalized_correlation"] = metrics.normalised(row["gss_correlation"], row["gss_retest_correlation"])
    row["gss_numeric_mae"] = metrics.normalised_mae(pred, w1, numeric)
    row["gss_numeric_retest_mae"] = metrics.normalised_mae(w2, w1, numeric)
    row["gss_numeric_correlation"] = metrics.range_correlation(pred, w1, numeric)
    row["gss_numeric_retest_correlation"] = metrics.range_correlation(w2, w1, numeric)
    row["gss_numeric_normalized_correlation"] = metrics.normalised(row["gss_numeric_correlation"],
                                                                   row["gss_numeric_retest_correlation"])

    bfi_items = catalogue.of(BFI)
    traits = list(dict.fromkeys(i.trait for i in bfi_items if i.trait))
    b1, b2, bp = (metrics.trait_scores(answers.of(s, BFI), bfi_items) for s in ("wave1", "wave2", "predicted"))
    row["bfi_mae"] = metrics.mae(bp, b1)
    row["bfi_retest_mae"] = metrics.mae(b2, b1)
    row["bfi_correlation"] = metrics.paired_pearson(bp, b1, traits)
    row["bfi_retest_correlation"] = metrics.paired_pearson(b2, b1, traits)
    row["bfi_normalized_correlation"] = metrics.normalised(row["bfi_correlation"], row["bfi_retest_correlation"])

    game_items = catalogue.of(GAMES)
    games = list(dict.fromkeys(i.group or i.item_id for i in game_items))
    g1, g2, gp = (metrics.game_scores(answers.of(s, GAMES), game_items) for s in ("wave1", "wave2", "predicted"))
    row["games_mae"] = metrics.mae(gp, g1)
    row["games_retest_mae"] = metrics.mae(g2, g1)
    row["games_correlation"] = metrics.paired_pearson(gp, g1, games)
    row["games_retest_correlation"] = metrics.paired_pearson(g2, g1, games)
    row["games_normalized_correlation"] = metrics.normalised(row["games_correlation"],
                                                             row["games_retest_correlation"])
    return row


def evaluate(truth: pd.DataFrame, predictions: pd.DataFrame, catalogue: Catalogue,
             given: frozenset[str] = frozenset()) -> pd.DataFrame:
    """One report row per person in ``predictions``; ``truth`` is a tidy responses table.

    ``given``: GSS items the agents had as input, left out of every GSS metric.
    """
    waves = {wave: _by_person(truth[truth["wave"] == wave]) for wave in (1, 2)}
    predicted = _by_person(predictions)
    missing = _missing_counts(truth)
    rows = []
    for person in sorted(predicted):
        answers = Answers(waves[1].get(person, {}), waves[2].get(person, {}), predicted[person])
        counts = missing.get(person, {})
        rows.append({"pseudonym_id": person, **score_person(answers, catalogue, given),
                     "gss_inapplicable": counts.get("IAP", 0), "gss_declined": counts.get("NA", 0)})
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def _missing_counts(truth: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per person, how many wave-1 GSS items carry each missing-data code (IAP, NA, DK)."""
    if "missing" not in truth.columns:
        return {}
    rows = truth[(truth["wave"] == 1) & (truth["instrument"] == GSS) & truth["missing"].notna()]
    counts: dict[str, dict[str, int]] = {}
    for person, code in zip(rows["pseudonym_id"], rows["missing"], strict=True):
        mine = counts.setdefault(str(person), {})
        mine[str(code)] = mine.get(str(code), 0) + 1
    return counts


def summarise(report: pd.DataFrame) -> pd.DataFrame:
    """Per metric: people with a value, the mean (Fisher-z mean for correlations) and the sd."""
    rows = []
    for column in REPORT_COLUMNS[1:]:
        values = [float(v) for v in report[column] if not pd.isna(v)]
        if column in CORRELATIONS:
            mean = metrics.fisher_z_mean(values)
        else:
            mean = sum(values) / len(values) if values else math.nan
        sd = pd.Series(values, dtype=float).std() if len(values) > 1 else math.nan
        rows.append({"metric": column, "n": len(values), "mean": mean, "sd": sd})
    return pd.DataFrame(rows, columns=["metric", "n", "mean", "sd"])


def age_band(age: float) -> str:
    """The SM Table 1 age band of an age."""
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}+" if high >= 200 else f"{low}-{high}"
    return "under 18"


def demographics(truth: pd.DataFrame, catalogue: Catalogue,
                 strata: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, dict[str, str]]:
    """Each person's subgroup for each DPD variable: from ``strata`` (person -> stratum -> cell) when
    recorded, else from their GSS answers (wave 1 first); see ``DPD_VARIABLES``."""
    gss = truth[(truth["instrument"] == GSS) & truth["value"].notna()].sort_values("wave", ascending=False)
    values: dict[str, dict[str, float]] = {}
    for row in gss.itertuples(index=False):
        values.setdefault(str(row.pseudonym_id), {})[str(row.item_id)] = float(row.value)
    strata = strata or {}
    groups: dict[str, dict[str, str]] = {}
    for person in sorted(set(values) | set(strata)):
        answers, cells = values.get(person, {}), strata.get(person, {})
        mine: dict[str, str] = {}
        for variable, sources in DPD_VARIABLES.items():
            for kind, key in sources:
                group = cells.get(key) if kind == "strata" else _gss_group(key, answers, catalogue)
                if group:
                    mine[variable] = str(group)
                    break
        groups[person] = mine
    return groups


def _gss_group(item_id: str, answers: Mapping[str, float], catalogue: Catalogue) -> str | None:
    if item_id not in answers:
        return None
    if item_id == "age":
        return age_band(answers["age"])
    item = catalogue.get(GSS, item_id)
    return (item.label(answers[item_id]) if item else None) or str(answers[item_id])


def parity(report: pd.DataFrame, groups: Mapping[str, Mapping[str, str]], min_group: int = MIN_GROUP) -> pd.DataFrame:
    """DPD per demographic variable and metric: best subgroup mean minus worst (see metrics).

    Subgroups with fewer than ``min_group`` people with a value are left out (``small_groups`` counts
    them, ``people_left_out`` their members); a variable no one has a group for reports 0 groups.
    """
    rows = []
    for variable in DPD_VARIABLES:
        for metric, scale in DPD_METRICS.items():
            members: dict[str, list[float]] = {}
            for person, value in zip(report["pseudonym_id"], report[metric], strict=True):
                group = groups.get(str(person), {}).get(variable)
                if group is not None and not pd.isna(value):
                    members.setdefault(group, []).append(float(value))
            kept = {group: vals for group, vals in members.items() if len(vals) >= min_group}
            means = {
                group: (metrics.fisher_z_mean(vals) if metric in CORRELATIONS else sum(vals) / len(vals)) * scale
                for group, vals in kept.items()
            }
            best, worst, difference = metrics.demographic_parity_difference(means)
            rows.append({"variable": variable, "metric": metric, "groups": len(means),
                         "small_groups": len(members) - len(kept),
                         "people_left_out": sum(len(v) for g, v in members.items() if g not in kept),
                         "best_group": best, "best": means.get(best, math.nan), "worst_group": worst,
                         "worst": means.get(worst, math.nan), "dpd": difference})
    return pd.DataFrame(rows, columns=["variable", "metric", "groups", "small_groups", "people_left_out",
                                       "best_group", "best", "worst_group", "worst", "dpd"])
