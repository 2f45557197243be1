"""``voxbank protocols check`` summarises a valid study and names file and line of each error."""

from __future__ import annotations

import shutil
from pathlib import Path

from protocols import default_study_dir


def test_check_summarises_the_shipped_study(run_voxbank) -> None:
    result = run_voxbank("protocols", "check")
    assert result.returncode == 0, result.stderr
    assert ("interview guide avp v1.0.0: 109 timed questions in 16 modules, 7,130 s (118.8 min), "
            "plus intro and closing") in result.stdout
    assert ("instrument gss_core: 177 single_choice + 6 number items (183), order fixed; 177 single_choice items: "
            "mean 4.02 options, chance 24.89% (reference 3.70, chance 27.03%)") in result.stdout
    assert "instrument bfi44: 44 likert items, 16 reverse-keyed" in result.stdout
    assert "games: 5 (game1_DG, game2_TF1, game3_TF2, game4_PG, game5_PD)" in result.stdout
    assert "experiments: 5 (ames_fiske_2015: 2 conditions" in result.stdout
    assert result.stdout.rstrip().endswith("the study is valid.")


def test_check_names_the_file_and_line_of_a_broken_file(run_voxbank, tmp_path: Path) -> None:
    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    games = study / "games.yaml"
    lines = games.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip().startswith("endowment: 5"))
    lines[number] = lines[number].replace("endowment: 5", "endowment: five")
    games.write_text("\n".join(lines) + "\n")

    result = run_voxbank("protocols", "check", str(study))

    assert result.returncode == 1
    assert f"{games}:{number + 1}:" in result.stderr
    assert "endowment" in result.stderr
    assert "nothing was changed" in result.stderr
