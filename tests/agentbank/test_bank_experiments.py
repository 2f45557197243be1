"""Experiment replication on a synthetic bank with known effects: each effect size as computed by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import protocols
from agentbank.evaluation.experiments import designs, effect_size_correlations, replication, scatter_svg

# Outcomes per condition, in the protocol's condition order. Humans (both waves alike) and agents, whose
# effects are larger, as Park et al. found.
HUMANS = {
    "ames_fiske_2015": {"intentional": [1] * 8 + [2] * 2, "unintentional": [1] * 3 + [3] * 7},
    "cooney_gilbert_wilson_2016": {"fair_bonus": [1, 2, 3], "fair_no_bonus": [4, 5, 6], "unfair_bonus": [2, 3, 4],
                                   "unfair_no_bonus": [3, 4, 5]},
    "halevy_halali_2015": {"intervened": [3, 4, 5, 6, 7], "did_not_intervene": [1, 2, 3, 4, 5]},
    "rai_valdesolo_graham_2017": {"dehumanized": [4, 5, 6, 7], "humanized": [3, 4, 5, 6]},
    "schilke_reimann_cook_2015": {"high_power": [1] * 6 + [2] * 4, "low_power": [1] * 9 + [2] * 1},
}
AGENTS = {
    "ames_fiske_2015": {"intentional": [1] * 9 + [4], "unintentional": [1] + [5] * 9},
    "cooney_gilbert_wilson_2016": {"fair_bonus": [1, 2, 3], "fair_no_bonus": [5, 6, 7], "unfair_bonus": [3, 4, 5],
                                   "unfair_no_bonus": [3, 4, 5]},
    "halevy_halali_2015": {"intervened": [5, 6, 7, 8, 9], "did_not_intervene": [1, 2, 3, 4, 5]},
    "rai_valdesolo_graham_2017": {"dehumanized": [5, 6, 7, 8], "humanized": [3, 4, 5, 6]},
    "schilke_reimann_cook_2015": {"high_power": [1] * 5 + [2] * 5, "low_power": [1] * 10},
}
OUTCOME = {"ames_fiske_2015": "chosen_task", "cooney_gilbert_wilson_2016": "predicted_upset",
           "halevy_halali_2015": "perceived_benefit", "rai_valdesolo_graham_2017": "willingness_to_harm",
           "schilke_reimann_cook_2015": "give_free_sample"}

# By hand (the experiments module's definitions):
# ames: [[8, 2], [3, 7]], chi2 = 20 (56 - 6)^2 / (10 * 10 * 11 * 9) = 5.0505, phi^2 = 0.25253,
#   d = 2 phi / sqrt(1 - phi^2) = 1.16248; agents [[9, 1], [1, 9]]: chi2 = 12.8, d = 2.66667
# cooney: cell means 2, 5, 3, 4; contrast 2 - 5 - 3 + 4 = -2; SS_AB = 3 * 4 / 4 = 3, SSE = 8, F = 3,
#   partial eta^2 = 3/11, f = sqrt(0.375), d = -2 f = -1.22474; agents means 2, 6, 4, 4: SS_AB = 12,
#   eta^2 = 0.6, d = -2 sqrt(1.5) = -2.44949
# halevy: means 5 and 3, pooled sd sqrt(2.5): d = 1.26491; agents means 7 and 3: d = 2.52982
# rai: means 5.5 and 4.5, pooled sd sqrt(5/3): d = 0.77460; agents 6.5 and 4.5: d = 1.54919
# schilke: [[6, 4], [9, 1]], chi2 = 20 (6 - 36)^2 / (10 * 10 * 15 * 5) = 2.4, d = -0.73855 (fewer chose yes
#   in the first condition); agents [[5, 5], [10, 0]]: chi2 = 6.6667, d = -1.41421
EXPECTED = {
    "ames_fiske_2015": (1.16248, 2.66667), "cooney_gilbert_wilson_2016": (-1.22474, -2.44949),
    "halevy_halali_2015": (1.26491, 2.52982), "rai_valdesolo_graham_2017": (0.77460, 1.54919),
    "schilke_reimann_cook_2015": (-0.73855, -1.41421),
}


def synthetic_bank() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    truth, conditions, predictions = [], [], []
    for experiment, by_condition in HUMANS.items():
        for condition, values in by_condition.items():
            for i, value in enumerate(values):
                person = f"{experiment}:{condition}:{i}"
                for wave in (1, 2):
                    conditions.append({"pseudonym_id": person, "wave": wave, "experiment_id": experiment,
                                       "condition_id": condition})
                    truth.append({"pseudonym_id": person, "wave": wave, "instrument": experiment,
                                  "item_id": OUTCOME[experiment], "value": float(value)})
                predictions.append({"pseudonym_id": person, "instrument": experiment, "item_id": OUTCOME[experiment],
                                    "value": float(AGENTS[experiment][condition][i])})
    return pd.DataFrame(truth), pd.DataFrame(conditions), pd.DataFrame(predictions)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    truth, conditions, predictions = synthetic_bank()
    study = protocols.load_study(protocols.default_study_dir())
    return replication(designs(study), truth, conditions, predictions)


def test_each_experiments_effect_size_is_recovered_within_a_hundredth(table: pd.DataFrame) -> None:
    sizes = table.set_index(["experiment_id", "source"])["effect_size"]
    for experiment, (humans, agents) in EXPECTED.items():
        assert sizes[(experiment, "human_wave1")] == pytest.approx(humans, abs=0.01)
        assert sizes[(experiment, "human_wave2")] == pytest.approx(humans, abs=0.01)
        assert sizes[(experiment, "agents")] == pytest.approx(agents, abs=0.01)


def test_each_test_reports_its_statistic_and_p_value(table: pd.DataFrame) -> None:
    rows = table.set_index(["experiment_id", "source"])
    ames = rows.loc[("ames_fiske_2015", "human_wave1")]
    assert (ames["test"], ames["n"]) == ("chi_square", 20)
    assert ames["statistic"] == pytest.approx(5.05051, abs=1e-4)
    assert ames["p_value"] == pytest.approx(0.024612, abs=1e-5)  # chi-square(1) upper tail at 5.0505
    cooney = rows.loc[("cooney_gilbert_wilson_2016", "human_wave1")]
    assert cooney["statistic"] == pytest.approx(3.0) and cooney["p_value"] == pytest.approx(0.121503, abs=1e-5)
    halevy = rows.loc[("halevy_halali_2015", "human_wave1")]
    assert halevy["statistic"] == pytest.approx(2.0)  # t = 2 / (sqrt(2.5) * sqrt(2/5))
    assert halevy["p_value"] == pytest.approx(0.080516, abs=1e-5)


def test_agent_and_human_effect_sizes_are_correlated_across_experiments(table: pd.DataFrame) -> None:
    correlations = effect_size_correlations(table)
    # Pearson r of the five (human, agent) pairs above.
    assert correlations["agents_vs_humans"] == pytest.approx(0.99829, abs=1e-4)
    assert correlations["humans_wave2_vs_wave1"] == pytest.approx(1.0)


def test_the_report_plots_agents_against_humans(table: pd.DataFrame) -> None:
    svg = scatter_svg(table)
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert svg.count("<circle ") == 5
    assert "halevy_halali_2015: humans 1.26, agents 2.53" in svg


def test_a_source_without_answers_reports_no_effect_rather_than_a_made_up_one() -> None:
    study = protocols.load_study(protocols.default_study_dir())
    truth, conditions, _ = synthetic_bank()
    table = replication(designs(study), truth[truth["wave"] == 1], conditions, None)
    assert set(table["source"]) == {"human_wave1", "human_wave2"}
    wave2 = table[table["source"] == "human_wave2"]
    assert wave2["effect_size"].isna().all() and (wave2["n"] == 0).all()
    assert not math.isnan(table[table["source"] == "human_wave1"]["effect_size"].iloc[0])
