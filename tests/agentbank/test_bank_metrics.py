"""Every metric reproduces numbers worked out by hand on a tiny dataset (arithmetic in the comments)."""

from __future__ import annotations

import math

import pytest

from agentbank.catalogue import Catalogue, CatalogueItem
from agentbank.evaluation import metrics
from agentbank.evaluation.report import Answers, score_person

# Three GSS categorical items: A is categorical (3 options, one-hot, weight 1/3 each), B is on the
# ordinal spend3 scale (codes 1, 2, 3 -> 0, 0.5, 1), C has two options (ordinal, codes 1, 2 -> 0, 1).
A = CatalogueItem("gss_core", "a", "single_choice", "A?", 1, 3, ((1, "x"), (2, "y"), (3, "z")))
B = CatalogueItem("gss_core", "b", "single_choice", "B?", 1, 3, ((1, "x"), (2, "y"), (3, "z")), scale="spend3")
C = CatalogueItem("gss_core", "c", "single_choice", "C?", 1, 2, ((1, "yes"), (2, "no")))
AGE = CatalogueItem("gss_core", "age", "number", "Age?", 18, 89)
CHILDS = CatalogueItem("gss_core", "childs", "number", "Children?", 0, 8)
BFI = [
    CatalogueItem("bfi44", "bfi01", "likert", "", 1, 5, trait="e"),
    CatalogueItem("bfi44", "bfi06", "likert", "", 1, 5, trait="e", reverse=True),
    CatalogueItem("bfi44", "bfi02", "likert", "", 1, 5, trait="a", reverse=True),
    CatalogueItem("bfi44", "bfi07", "likert", "", 1, 5, trait="a"),
    CatalogueItem("bfi44", "bfi03", "likert", "", 1, 5, trait="c"),
    CatalogueItem("bfi44", "bfi08", "likert", "", 1, 5, trait="c", reverse=True),
]
GAMES = [
    CatalogueItem("games", "game1_DG", "amount", "", 0, 5),
    CatalogueItem("games", "game3_TF2.received_3", "amount", "", 0, 3, group="game3_TF2"),
    CatalogueItem("games", "game3_TF2.received_6", "amount", "", 0, 6, group="game3_TF2"),
    CatalogueItem("games", "game5_PD", "choice", "", 1, 2, ((1, "Cooperate"), (2, "Defect"))),
]
CATALOGUE = Catalogue([A, B, C, AGE, CHILDS, *BFI, *GAMES])

WAVE1 = {"a": 1, "b": 2, "c": 1, "age": 30, "childs": 2,
         "bfi01": 4, "bfi06": 2, "bfi02": 1, "bfi07": 4, "bfi03": 2, "bfi08": 4,
         "game1_DG": 2, "game3_TF2.received_3": 1, "game3_TF2.received_6": 3, "game5_PD": 1}
WAVE2 = {"a": 1, "b": 3, "c": 1, "age": 31, "childs": 2,
         "bfi01": 5, "bfi06": 2, "bfi02": 2, "bfi07": 4, "bfi03": 2, "bfi08": 5,
         "game1_DG": 2, "game3_TF2.received_3": 1, "game3_TF2.received_6": 2, "game5_PD": 1}
AGENT = {"a": 2, "b": 2, "c": 2, "age": 40, "childs": 1,
         "bfi01": 3, "bfi06": 3, "bfi02": 2, "bfi07": 5, "bfi03": 3, "bfi08": 3,
         "game1_DG": 5, "game3_TF2.received_3": 0, "game3_TF2.received_6": 6, "game5_PD": 2}


def keyed(answers: dict[str, float]) -> dict[tuple[str, str], float]:
    return {(CATALOGUE.items[[i.item_id for i in CATALOGUE.items].index(k)].instrument, k): float(v)
            for k, v in answers.items()}


@pytest.fixture(scope="module")
def row() -> dict:
    return score_person(Answers(keyed(WAVE1), keyed(WAVE2), keyed(AGENT)), CATALOGUE)


def test_gss_accuracy_retest_accuracy_and_normalised_accuracy(row: dict) -> None:
    # agent vs wave 1: a 2/1 wrong, b 2/2 right, c 2/1 wrong -> 1/3
    # wave 2 vs wave 1: a 1/1 right, b 3/2 wrong, c 1/1 right -> 2/3
    # normalised: (1/3) / (2/3) = 0.5
    assert row["gss_items"] == 3 and row["gss_predicted"] == 3
    assert row["gss_accuracy"] == pytest.approx(1 / 3)
    assert row["gss_retest_accuracy"] == pytest.approx(2 / 3)
    assert row["gss_normalized_accuracy"] == pytest.approx(0.5)


def test_gss_one_hot_correlation_by_hand(row: dict) -> None:
    # Variables (A=1, A=2, A=3, B, C), weights (1/3, 1/3, 1/3, 1, 1), total weight W = 3.
    # wave 1 x = (1, 0, 0, 0.5, 0); agent y = (0, 1, 0, 0.5, 1); wave 2 z = (1, 0, 0, 1, 0).
    # mean x = (1/3 + 0.5) / 3 = 5/18; mean y = (1/3 + 0.5 + 1) / 3 = 11/18; mean z = (1/3 + 1) / 3 = 8/18.
    # x - mx = (13, -5, -5, 4, -5)/18; y - my = (-11, 7, -11, -2, 7)/18; z - mz = (10, -8, -8, 10, -8)/18.
    # Sum w dx dy = [(1/3)(-143 - 35 + 55) + (-8) + (-35)] / 324 = -84/324 -> cov(x, y) = -84/972 = -7/81.
    # Sum w dx^2 = [(1/3)(169 + 25 + 25) + 16 + 25] / 324 = 114/324 -> var x = 19/162.
    # Sum w dy^2 = [(1/3)(121 + 49 + 121) + 4 + 49] / 324 = 150/324 -> var y = 25/162.
    # r(agent) = (-7/81) / sqrt(19/162 * 25/162) = -14 / (5 sqrt 19) = -0.642364
    r_agent = -14 / (5 * math.sqrt(19))
    # Sum w dx dz = [(1/3)(130 + 40 + 40) + 40 + 40] / 324 = 150/324 -> cov(x, z) = 25/162.
    # Sum w dz^2 = [(1/3)(100 + 64 + 64) + 100 + 64] / 324 = 240/324 -> var z = 40/162.
    # r(retest) = (25/162) / sqrt(19/162 * 40/162) = 25 / sqrt 760 = 0.906845
    r_retest = 25 / math.sqrt(760)
    assert row["gss_correlation"] == pytest.approx(r_agent)
    assert row["gss_retest_correlation"] == pytest.approx(r_retest)
    assert row["gss_normalized_correlation"] == pytest.approx(r_agent / r_retest)  # -0.642364 / 0.906845
    assert r_agent / r_retest == pytest.approx(-0.708350, abs=1e-6)


def test_one_hot_weights_are_one_over_k_not_the_sm_example() -> None:
    # DISCREPANCY: the SM's example gives 0.25 per option of a 5-option item; the rule "weights sum to
    # the item's weight" gives 1/5 = 0.2. We follow the rule.
    five = CatalogueItem("gss_core", "zodiacish", "single_choice", "", 1, 5, tuple((c, str(c)) for c in range(1, 6)))
    values, weights = metrics.encode({"zodiacish": 3}, [five])
    assert values == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert weights == [0.2] * 5 and sum(weights) == pytest.approx(1.0)


def test_gss_numerical_mae_is_normalised_by_the_item_range(row: dict) -> None:
    # age range 89 - 18 = 71, childs range 8 - 0 = 8.
    # agent: |40 - 30| / 71 = 10/71, |1 - 2| / 8 = 1/8 -> (10/71 + 1/8) / 2 = 0.132923
    # retest: |31 - 30| / 71 = 1/71, |2 - 2| / 8 = 0 -> (1/71) / 2 = 0.007042
    assert row["gss_numeric_mae"] == pytest.approx((10 / 71 + 1 / 8) / 2)
    assert row["gss_numeric_retest_mae"] == pytest.approx(1 / 142)


def test_bfi_trait_mae_and_correlation_on_the_one_to_five_scale(row: dict) -> None:
    # Reverse-keyed items score 6 - x. Traits (e, a, c):
    #   wave 1: e = (4 + (6-2))/2 = 4.0, a = ((6-1) + 4)/2 = 4.5, c = (2 + (6-4))/2 = 2.0
    #   wave 2: e = (5 + 4)/2 = 4.5,     a = ((6-2) + 4)/2 = 4.0, c = (2 + (6-5))/2 = 1.5
    #   agent:  e = (3 + 3)/2 = 3.0,     a = (4 + 5)/2 = 4.5,     c = (3 + 3)/2 = 3.0
    # MAE agent = (1 + 0 + 1)/3 = 2/3; MAE retest = (0.5 + 0.5 + 0.5)/3 = 0.5.
    assert row["bfi_mae"] == pytest.approx(2 / 3)
    assert row["bfi_retest_mae"] == pytest.approx(0.5)
    # r(agent): w1 - 3.5 = (0.5, 1, -1.5); agent - 3.5 = (-0.5, 1, -0.5)
    #   cov = -0.25 + 1 + 0.75 = 1.5; ss = 3.5 and 1.5 -> r = 1.5 / sqrt(5.25) = 0.654654
    # r(retest): w2 - 10/3 = (7, 4, -11)/6; cov = (3.5 + 4 + 16.5)/6 = 4; ss = 186/36 = 31/6
    #   -> r = 4 / sqrt(3.5 * 31/6) = 0.940634
    r_agent, r_retest = 1.5 / math.sqrt(5.25), 4 / math.sqrt(3.5 * 31 / 6)
    assert row["bfi_correlation"] == pytest.approx(r_agent)
    assert row["bfi_retest_correlation"] == pytest.approx(r_retest)
    assert row["bfi_normalized_correlation"] == pytest.approx(r_agent / r_retest)  # 0.695972


def test_games_are_normalised_by_the_offered_range(row: dict) -> None:
    # Normalised values (DG /5; TF2 cases /3 and /6, averaged; PD codes 1, 2 -> 0, 1):
    #   wave 1: DG 2/5 = 0.4, TF2 (1/3 + 3/6)/2 = 5/12, PD 0
    #   wave 2: DG 0.4,       TF2 (1/3 + 2/6)/2 = 1/3,  PD 0
    #   agent:  DG 5/5 = 1,   TF2 (0 + 6/6)/2 = 1/2,    PD 1
    # MAE agent = (0.6 + 1/12 + 1)/3 = 0.561111; MAE retest = (0 + 1/12 + 0)/3 = 1/36.
    assert row["games_mae"] == pytest.approx((0.6 + 1 / 12 + 1) / 3)
    assert row["games_retest_mae"] == pytest.approx(1 / 36)
    # In 180ths: w1 = (72, 75, 0), mean 49 -> dev (23, 26, -49); agent dev = (1, -2, 1)/6;
    #   w2 = (72, 60, 0), mean 44 -> dev (28, 16, -44).
    # r(agent) = (23 - 52 - 49) / sqrt((529 + 676 + 2401) * 6) = -78 / sqrt(21636) = -13 / sqrt(601) = -0.530281
    # r(retest) = (644 + 416 + 2156) / sqrt(3606 * 2976) = 3216 / sqrt(10731456) = 0.981718
    r_agent, r_retest = -13 / math.sqrt(601), 3216 / math.sqrt(3606 * 2976)
    assert row["games_correlation"] == pytest.approx(r_agent)
    assert row["games_retest_correlation"] == pytest.approx(r_retest)
    assert row["games_normalized_correlation"] == pytest.approx(r_agent / r_retest)


def test_a_missing_prediction_is_wrong_for_accuracy_and_left_out_of_the_correlation() -> None:
    row = score_person(Answers(keyed(WAVE1), keyed(WAVE2), {("gss_core", "a"): 1.0, ("gss_core", "b"): 2.0}),
                       CATALOGUE)
    # a right, b right, c missing (wrong) -> 2/3; the correlation uses a and b only.
    assert row["gss_predicted"] == 2 and row["gss_accuracy"] == pytest.approx(2 / 3)
    assert row["gss_correlation"] == pytest.approx(metrics.one_hot_correlation({"a": 1, "b": 2}, WAVE1, [A, B]))
    assert math.isnan(row["bfi_mae"]) and math.isnan(row["games_correlation"])


def test_fisher_z_average() -> None:
    # atanh(0.5) = 0.549306, atanh(0.8) = 1.098612; mean 0.823959; tanh -> 0.677219
    assert metrics.fisher_z_mean([0.5, 0.8]) == pytest.approx(0.677219, abs=1e-6)
    assert metrics.fisher_z_mean([0.3, float("nan")]) == pytest.approx(0.3)
    # r = 1 would be an infinite z: clipped to 1 - 1e-6 first.
    assert metrics.fisher_z_mean([1.0, 1.0]) == pytest.approx(1 - 1e-6)
    assert math.isnan(metrics.fisher_z_mean([]))


def test_normalised_is_undefined_when_the_person_was_never_consistent() -> None:
    assert metrics.normalised(0.4, 0.8) == pytest.approx(0.5)
    assert math.isnan(metrics.normalised(0.4, 0.0))
    assert math.isnan(metrics.normalised(float("nan"), 0.8))


def test_demographic_parity_difference_is_best_minus_worst() -> None:
    assert metrics.demographic_parity_difference({"Female": 0.70, "Male": 0.65, "Other": float("nan")}) == (
        "Female", "Male", pytest.approx(0.05))
    assert metrics.demographic_parity_difference({})[2] != metrics.demographic_parity_difference({})[2]  # NaN
