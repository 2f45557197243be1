"""Predictions files, the report table, the summary and the DPD, and the two commands end to end."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from bank_data import Bank

from agentbank.catalogue import Catalogue, CatalogueItem
from agentbank.evaluation import metrics
from agentbank.evaluation.report import (
    PredictionsError,
    demographics,
    evaluate,
    parity,
    read_predictions,
    summarise,
)

SEX = CatalogueItem("gss_core", "sex", "single_choice", "Sex?", 1, 2, ((1, "Male"), (2, "Female")))
RACE = CatalogueItem("gss_core", "race", "single_choice", "Race?", 1, 3, ((1, "White"), (2, "Black"), (3, "Other")))
CATALOGUE = Catalogue([SEX, RACE])


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_predictions_take_codes_or_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv",
                 "pseudonym_id,instrument,item_id,value\np1,gss_core,sex,female\np1,gss_core,race,3\n")
    frame = read_predictions(path, CATALOGUE)
    assert frame.values.tolist() == [["p1", "gss_core", "sex", 2.0], ["p1", "gss_core", "race", 3.0]]


def test_a_bad_predictions_file_names_each_line(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "pseudonym_id,instrument,item_id,value\n"
                 "p1,gss_core,sex,Maybe\np1,gss_core,nosuch,1\np1,gss_core,race,1\np1,gss_core,race,2\n")
    with pytest.raises(PredictionsError) as error:
        read_predictions(path, CATALOGUE, known_people={"p1"})
    assert str(error.value).splitlines()[1:] == [
        "  line 2: 'Maybe' is neither a number nor an option label of sex",
        "  line 3: unknown item gss_core/nosuch (see the catalogue)",
        "  line 5: repeats line 4 (gss_core/race)",
    ]
    with pytest.raises(PredictionsError, match="missing column"):
        read_predictions(write(tmp_path / "q.csv", "id,value\n1,2\n"), CATALOGUE)


def test_the_report_has_one_row_per_predicted_person() -> None:
    truth = pd.DataFrame({
        "pseudonym_id": ["p1"] * 4 + ["p2"] * 4, "wave": [1, 1, 2, 2] * 2,
        "instrument": ["gss_core"] * 8, "item_id": ["sex", "race"] * 4,
        "value": [2.0, 1.0, 2.0, 2.0, 1.0, 3.0, 1.0, 3.0],
    })
    predictions = pd.DataFrame({"pseudonym_id": ["p1", "p1", "p2"], "instrument": ["gss_core"] * 3,
                                "item_id": ["sex", "race", "sex"], "value": [2.0, 1.0, 2.0]})
    report = evaluate(truth, predictions, CATALOGUE).set_index("pseudonym_id")
    # p1: agent (2, 1) vs wave 1 (2, 1): 2/2; wave 2 (2, 2) vs wave 1: 1/2 -> normalised 2.0
    assert report.loc["p1", ["gss_accuracy", "gss_retest_accuracy", "gss_normalized_accuracy"]].tolist() == [
        1.0, 0.5, 2.0]
    # p2: agent sex 2 vs 1 wrong, race missing (wrong): 0/2; retest 2/2 -> normalised 0
    assert report.loc["p2", ["gss_accuracy", "gss_retest_accuracy", "gss_normalized_accuracy"]].tolist() == [
        0.0, 1.0, 0.0]


def test_items_the_agents_were_given_are_left_out_of_the_score_and_counted() -> None:
    truth = pd.DataFrame({"pseudonym_id": ["p1"] * 4, "wave": [1, 1, 2, 2], "instrument": ["gss_core"] * 4,
                          "item_id": ["sex", "race"] * 2, "value": [2.0, 1.0, 2.0, 2.0]})
    predictions = pd.DataFrame({"pseudonym_id": ["p1", "p1"], "instrument": ["gss_core"] * 2,
                                "item_id": ["sex", "race"], "value": [2.0, 3.0]})
    everything = evaluate(truth, predictions, CATALOGUE).iloc[0]
    assert (everything["gss_items"], everything["gss_accuracy"], everything["gss_given_items"]) == (2, 0.5, 0)
    # A demographic agent was handed sex: only race is scored (wrong), and the left-out prediction is counted.
    demographic = evaluate(truth, predictions, CATALOGUE, given=frozenset({"sex"})).iloc[0]
    assert (demographic["gss_items"], demographic["gss_accuracy"], demographic["gss_given_items"]) == (1, 0.0, 1)


def test_summary_averages_correlations_by_fisher_z() -> None:
    report = pd.DataFrame({"pseudonym_id": ["a", "b"], "gss_accuracy": [0.6, 0.8], "gss_correlation": [0.5, 0.8]})
    for column in ["gss_items", "gss_predicted", "gss_given_items", "gss_inapplicable", "gss_declined",
                   "gss_retest_accuracy", "gss_normalized_accuracy",
                   "gss_retest_correlation", "gss_normalized_correlation", "gss_numeric_mae",
                   "gss_numeric_retest_mae", "gss_numeric_correlation", "gss_numeric_retest_correlation",
                   "gss_numeric_normalized_correlation", "bfi_mae", "bfi_retest_mae", "bfi_correlation",
                   "bfi_retest_correlation", "bfi_normalized_correlation", "games_mae", "games_retest_mae",
                   "games_correlation", "games_retest_correlation", "games_normalized_correlation"]:
        report[column] = math.nan
    summary = summarise(report).set_index("metric")
    # accuracy: (0.6 + 0.8)/2 = 0.7, sd = sqrt(((0.1)^2 + (0.1)^2)/1) = 0.141421
    assert summary.loc["gss_accuracy", "mean"] == pytest.approx(0.7)
    assert summary.loc["gss_accuracy", "sd"] == pytest.approx(0.141421, abs=1e-6)
    # correlation: tanh((atanh 0.5 + atanh 0.8)/2) = 0.677219
    assert summary.loc["gss_correlation", "mean"] == pytest.approx(0.677219, abs=1e-6)
    assert summary.loc["bfi_mae", "n"] == 0


def test_dpd_is_best_minus_worst_subgroup_mean() -> None:
    report = pd.DataFrame({"pseudonym_id": ["p1", "p2", "p3", "p4"],
                           "gss_accuracy": [0.8, 0.6, 0.5, 0.7],
                           "gss_normalized_accuracy": [1.0, 0.8, 0.5, 0.9],
                           "bfi_correlation": [0.5, 0.8, 0.3, math.nan],
                           "games_correlation": [math.nan] * 4})
    groups = {"p1": {"gender": "Female"}, "p2": {"gender": "Female"}, "p3": {"gender": "Male"},
              "p4": {"gender": "Male"}}
    dpd = parity(report, groups, min_group=1).set_index(["variable", "metric"])
    # GSS accuracy in percentage points: Female (80 + 60)/2 = 70, Male (50 + 70)/2 = 60 -> 10
    row = dpd.loc[("gender", "gss_accuracy")]
    assert (row["best_group"], row["worst_group"]) == ("Female", "Male")
    assert row["dpd"] == pytest.approx(10.0)
    # normalised accuracy: Female 0.9, Male 0.7 -> 0.2
    assert dpd.loc[("gender", "gss_normalized_accuracy"), "dpd"] == pytest.approx(0.2)
    # Big Five r by Fisher z: Female tanh((atanh .5 + atanh .8)/2) = 0.677219, Male 0.3 -> 0.377219
    assert dpd.loc[("gender", "bfi_correlation"), "dpd"] == pytest.approx(0.377219, abs=1e-6)
    assert math.isnan(dpd.loc[("gender", "games_correlation"), "dpd"])
    assert dpd.loc[("race", "gss_accuracy"), "groups"] == 0


def test_dpd_covers_the_eleven_sm_table_5_variables_and_leaves_out_small_subgroups() -> None:
    people = [f"p{i}" for i in range(11)]
    report = pd.DataFrame({"pseudonym_id": people, "gss_accuracy": [0.8] * 5 + [0.6] * 5 + [0.2],
                           "gss_normalized_accuracy": [1.0] * 11, "bfi_correlation": [math.nan] * 11,
                           "games_correlation": [math.nan] * 11})
    groups = {p: {"political_ideology": "Liberal" if i < 5 else "Moderate" if i < 10 else "Extremely conservative"}
              for i, p in enumerate(people)}
    dpd = parity(report, groups, min_group=5)
    assert list(dict.fromkeys(dpd["variable"])) == [
        "age", "census_division", "political_ideology", "party", "education", "race", "ethnicity", "gender",
        "income", "neighborhood", "sexual_orientation"]
    row = dpd.set_index(["variable", "metric"]).loc[("political_ideology", "gss_accuracy")]
    # The one extremely conservative person (20 %) would set the gap at 60 points; below 5 people, left out.
    assert (row["groups"], row["small_groups"], row["people_left_out"]) == (2, 1, 1)
    assert (row["best_group"], row["worst_group"]) == ("Liberal", "Moderate")
    assert row["dpd"] == pytest.approx(20.0)
    assert parity(report, groups, min_group=1).set_index(["variable", "metric"]).loc[
        ("political_ideology", "gss_accuracy"), "dpd"] == pytest.approx(60.0)


def test_dpd_groups_come_from_the_screening_strata_first_then_the_gss_answers() -> None:
    party = CatalogueItem("gss_core", "partyid", "single_choice", "Party?", 0, 1,
                          ((0, "Strong democrat"), (1, "Not very strong democrat")))
    truth = pd.DataFrame({"pseudonym_id": ["p1", "p1", "p2"], "wave": [1, 1, 1], "instrument": ["gss_core"] * 3,
                          "item_id": ["age", "partyid", "age"], "value": [61.0, 1.0, 30.0]})
    groups = demographics(truth, Catalogue([party]), strata={"p1": {"age_band": "25_34", "census_division": "pacific"}})
    assert groups == {
        "p1": {"age": "25_34", "census_division": "pacific", "party": "Not very strong democrat"},
        "p2": {"age": "25-34"},
    }


def test_numeric_items_are_correlated_on_their_protocol_ranges() -> None:
    items = [CatalogueItem("gss_core", "age", "number", "Age?", 18, 89),
             CatalogueItem("gss_core", "childs", "number", "Children?", 0, 8),
             CatalogueItem("gss_core", "sibs", "number", "Siblings?", 0, 20)]
    actual = {"age": 53.5, "childs": 2.0, "sibs": 10.0}     # scaled: 0.5, 0.25, 0.5
    predicted = {"age": 89.0, "childs": 0.0, "sibs": 10.0}  # scaled: 1.0, 0.0, 0.5
    # x = (1, 0, .5), y = (.5, .25, .5): r = 0.125 / sqrt(0.5 * 0.041667) = 0.866025
    assert metrics.range_correlation(predicted, actual, items) == pytest.approx(0.866025, abs=1e-6)


# ---------------------------------------------------------------------------------- the commands


def voxbank(tmp_path: Path, database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOXBANK_")}
    environment.update({"VOXBANK_DATABASE_URL": database_url, "VOXBANK_DATA_DIR": str(tmp_path / "data"),
                        "VOXBANK_ENVIRONMENT": "test", **{f"VOXBANK_{k.upper()}": v for k, v in env.items()}})
    return subprocess.run([sys.executable, "-m", "voxbank", *args], capture_output=True, text=True, cwd=tmp_path,
                          env=environment, timeout=300)


def test_export_and_evaluate_commands_end_to_end(bank: Bank, database_url: str, embedding_server, tmp_path: Path):
    out = tmp_path / "bank"
    refused = voxbank(tmp_path, database_url, "export", "--out", str(out), "--tier", "open",
                      "--actor", "lead@example.org")
    assert refused.returncode == 2
    assert "--actor: there is no staff account 'lead@example.org'" in refused.stderr
    added = subprocess.run([sys.executable, "-m", "voxbank", "staff", "add", "lead@example.org", "--role", "admin",
                            "--password-stdin"], input="a long enough password\n", capture_output=True, text=True,
                           cwd=tmp_path, timeout=300, env={**{k: v for k, v in os.environ.items()
                                                              if not k.startswith("VOXBANK_")},
                                                           "VOXBANK_DATABASE_URL": database_url,
                                                           "VOXBANK_ENVIRONMENT": "test"})
    assert added.returncode == 0, added.stderr
    done = voxbank(tmp_path, database_url, "export", "--out", str(out), "--tier", "restricted",
                   "--actor", "staff:lead@example.org", embedding_base_url=embedding_server.base_url,
                   embedding_model="text-embedding-3-small")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"restricted export written to {out}: participants 2, nodes 44")
    assert "manifest sha256 " in done.stdout

    # Predict the "both" person's wave-1 GSS answers exactly. Of their 10 categorical items answered in
    # both waves, natspac changed at retest: retest accuracy 9/10, so normalised accuracy 1 / 0.9.
    responses = pd.read_parquet(out / "responses.parquet")
    person = bank.people["both"].pseudonym_id
    wave1 = responses[(responses["pseudonym_id"] == person) & (responses["wave"] == 1)
                      & (responses["instrument"] == "gss_core") & responses["value"].notna()]
    predictions = wave1[["pseudonym_id", "instrument", "item_id", "value"]].copy()
    predictions["value"] = predictions["value"].astype(float).astype(int)
    predictions.to_csv(tmp_path / "predictions.csv", index=False)

    for source in (["--export", str(out)], []):
        report_path = tmp_path / f"report{len(source)}.csv"
        done = voxbank(tmp_path, database_url, "evaluate", str(tmp_path / "predictions.csv"),
                       "--out", str(report_path), *source)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == f"1 participant(s) scored; report: {report_path}"
        report = pd.read_csv(report_path)
        assert report["pseudonym_id"].tolist() == [person]
        assert report.loc[0, "gss_items"] == 10 and report.loc[0, "gss_accuracy"] == 1.0
        assert report.loc[0, "gss_retest_accuracy"] == pytest.approx(0.9)
        assert report.loc[0, "gss_normalized_accuracy"] == pytest.approx(1 / 0.9)
        assert report.loc[0, "gss_numeric_mae"] == 0.0
        # hapmar did not apply (IAP) and natenvir was left blank (NA): neither scored, each counted apart.
        assert (report.loc[0, "gss_inapplicable"], report.loc[0, "gss_declined"]) == (1, 1)
        assert report_path.with_suffix(".dpd.csv").exists() and report_path.with_suffix(".summary.csv").exists()
        experiments = pd.read_csv(report_path.with_suffix(".experiments.csv"))
        assert set(experiments["source"]) == {"human_wave1", "human_wave2", "agents"}
        assert len(experiments) == 15 and report_path.with_suffix(".experiments.svg").read_text().startswith("<svg")
        assert "experiment replication (Cohen's d, p):" in done.stdout

    # Scored as demographic agents, the five answers those agents are handed (four categorical, and age) are
    # not scored: 6 categorical items remain, natspac among them (retest 5/6).
    report_path = tmp_path / "demographic.csv"
    done = voxbank(tmp_path, database_url, "evaluate", str(tmp_path / "predictions.csv"), "--out",
                   str(report_path), "--export", str(out), "--agents", "demographic")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == ("not scored: GSS items the demographic agents were given as input "
                                           "(age, partyid, polviews, race, sex); 5 prediction(s) of them left out")
    report = pd.read_csv(report_path)
    assert (report.loc[0, "gss_items"], report.loc[0, "gss_given_items"]) == (6, 5)
    assert report.loc[0, "gss_retest_accuracy"] == pytest.approx(5 / 6)


def test_evaluate_refuses_people_it_does_not_know(bank: Bank, database_url: str, tmp_path: Path):
    write(tmp_path / "p.csv", "pseudonym_id,instrument,item_id,value\nnobody,gss_core,sex,1\n")
    done = voxbank(tmp_path, database_url, "evaluate", str(tmp_path / "p.csv"))
    assert done.returncode == 1
    assert "no answers in the database for pseudonym_id nobody" in done.stderr
