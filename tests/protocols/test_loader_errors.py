"""Loading a whole study: every named file is resolved and cross-checked, every problem reported.

The `mini_study` fixture (conftest.py) writes a small valid study; each test breaks one thing.
Line numbers refer to the texts in conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import protocols
from protocols import ProtocolErrors, check_study, default_study_dir, load_study

MiniStudy = Callable[..., Path]


def study_problems(folder: Path) -> list[str]:
    """Load the study in `folder` and return its problems (fails if it loads cleanly)."""
    with pytest.raises(ProtocolErrors) as caught:
        load_study(folder)
    return caught.value.lines()


def test_a_valid_study_resolves_every_file_it_names(mini_study: MiniStudy) -> None:
    folder = mini_study()
    study = load_study(folder)
    assert study.path == folder
    assert study.spec.id == "mini"
    assert study.interview_guide is not None and study.interview_guide.id == "main"
    assert list(study.instruments) == ["survey"]
    assert study.games is not None and [g.id for g in study.games.data.games] == ["dg"]
    assert study.experiments is not None and study.experiments.data.experiments[0].id == "harm"
    assert study.current_consent.text == "# Consent\n\nYou agree to take part.\n"
    assert study.current_consent.required_scopes == ("participate",)


def test_load_study_accepts_the_study_yaml_itself(mini_study: MiniStudy) -> None:
    folder = mini_study()
    assert load_study(folder / "study.yaml").path == folder


def test_a_step_naming_an_unknown_instrument_fails(mini_study: MiniStudy) -> None:
    folder = mini_study({"study.yaml": ("steps: [survey]", "steps: [gss_core]")})
    assert study_problems(folder) == [
        f"{folder}/study.yaml:17: waves[1].steps[0]: unknown step 'gss_core' — use an instrument listed under "
        "instruments:, or one of: consent, mic_check, interview, games, experiments, survey"
    ]


def test_a_named_file_that_does_not_exist_fails_at_the_line_naming_it(mini_study: MiniStudy) -> None:
    folder = mini_study({"games.yaml": None})
    assert study_problems(folder) == [
        f"{folder}/study.yaml:9: games: file 'games.yaml' does not exist (looked for {folder}/games.yaml) "
        "— create it, or correct the path (relative to the study folder)"
    ]


def test_a_file_listed_under_another_id_fails(mini_study: MiniStudy) -> None:
    folder = mini_study(
        {
            "study.yaml": [
                ("{survey: instruments/survey.yaml}", "{gss: instruments/survey.yaml}"),
                ("survey, games", "gss, games"),
                ("steps: [survey]", "steps: [gss]"),
            ]
        }
    )
    assert study_problems(folder) == [
        f"{folder}/study.yaml:8: instruments.gss: instruments/survey.yaml has id 'survey', but study.yaml lists "
        "it as 'gss' — use the file's id as the key here (survey: instruments/survey.yaml)"
    ]


def test_a_file_of_the_wrong_kind_fails(mini_study: MiniStudy) -> None:
    folder = mini_study({"study.yaml": ("games: games.yaml", "games: experiments.yaml")})
    assert study_problems(folder) == [
        f"{folder}/experiments.yaml:1: kind: this file has kind: experiments, but it is used where a games "
        "file is expected — point to a games file, or correct kind:"
    ]


def test_the_bonus_game_must_exist_in_the_games_file(mini_study: MiniStudy) -> None:
    folder = mini_study({"study.yaml": ("game: dg", "game: game1_DG")})
    assert study_problems(folder) == [
        f"{folder}/study.yaml:21: payments.bonus.game: bonus game 'game1_DG' is not a game in games.yaml "
        "— name one of: dg"
    ]


def test_payments_and_games_use_one_currency(mini_study: MiniStudy) -> None:
    folder = mini_study({"games.yaml": ("currency: USD", "currency: EUR")})
    assert study_problems(folder) == [
        f"{folder}/study.yaml:19: payments.currency: payments are in USD but games.yaml pays in EUR "
        "— use one currency throughout"
    ]


def test_a_missing_consent_document_fails(mini_study: MiniStudy) -> None:
    folder = mini_study({"consent/v1.md": None})
    assert study_problems(folder) == [
        f"{folder}/study.yaml:32: consent[0].file: file 'consent/v1.md' does not exist "
        f"(looked for {folder}/consent/v1.md) — create it, or correct the path (relative to the study folder)"
    ]


def test_an_empty_consent_document_fails(mini_study: MiniStudy) -> None:
    folder = mini_study({"consent/v1.md": ("# Consent\n\nYou agree to take part.\n", "\n  \n")})
    assert study_problems(folder) == [
        f"{folder}/study.yaml:32: consent[0].file: consent/v1.md is empty — write the consent text"
    ]


def test_a_named_file_outside_the_study_folder_fails(mini_study: MiniStudy) -> None:
    folder = mini_study({"study.yaml": ("games: games.yaml", "games: ../games.yaml")})
    assert study_problems(folder) == [
        f"{folder}/study.yaml:9: games: '../games.yaml' points outside the study folder "
        "— keep every file of the study inside its folder"
    ]


def test_problems_in_several_files_are_all_reported_together(mini_study: MiniStudy) -> None:
    folder = mini_study(
        {
            "study.yaml": ("total: 100", "total: many"),
            "interview/main.yaml": ("seconds: 600", "seconds: ten minutes"),
            "experiments.yaml": ("block_size: 4", "block_size: 3"),
        }
    )
    assert study_problems(folder) == [
        f"{folder}/study.yaml:23: quotas.total: expected a whole number, got the text 'many' "
        "— write the number without quotes",
        f"{folder}/interview/main.yaml:19: modules[0].questions[0].seconds: expected a whole number, "
        "got the text 'ten minutes' — write the number without quotes",
        f"{folder}/experiments.yaml:10: experiments[0].assignment.block_size: block_size 3 cannot hold each "
        "of the 2 conditions equally often — use a multiple of 2",
    ]


def test_check_study_reports_problems_as_lines(mini_study: MiniStudy) -> None:
    folder = mini_study({"games.yaml": ("endowment: 5", "endowment: five")})
    report = check_study(folder)
    assert report.ok is False
    assert report.summary_lines == []
    assert report.errors == [
        f"{folder}/games.yaml:14: games[0].endowment: expected a number, got the text 'five' "
        "— write a number such as 5 or 2.5, unquoted"
    ]


def test_check_study_summarises_a_valid_study_from_its_data(mini_study: MiniStudy) -> None:
    report = check_study(mini_study())
    assert report.ok is True
    assert report.errors == []
    assert report.summary_lines == [
        "study mini v1.0.0: 2 waves (wave 1: 5 steps; wave 2: 1 step, 14 days after wave 1, open 7 days)",
        "interview guide main v1.0.0: 2 timed questions in 1 module, 680 s (11.3 min), plus intro and closing",
        "instrument survey: 1 number + 1 single_choice items (2), order fixed; 1 single_choice item: mean 3.00 "
        "options, chance 33.33%",
        "games: 1 (dg)",
        "experiments: 1 (harm: 2 conditions)",
        "consent: 1 version, current 1 (participate required; no optional)",
        "quotas: 100 participants, 1 stratum (gender)",
    ]


def test_default_study_dir_is_the_shipped_folder_next_to_the_package() -> None:
    assert default_study_dir() == Path(protocols.__file__).resolve().parent / "studies" / "park2024"
