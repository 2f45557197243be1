"""Wording overlays: replace texts and option labels of one instrument or guide, ids untouched.

Overlay files are written next to the `mini_study` (conftest.py); its instrument `survey` has
the items natspac (single_choice, scale spend3: 1 Too little, 2 About right, 3 Too much) and age
(number), and its guide `main` the questions life_story and children_school.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from protocols import ProtocolErrors, SingleChoiceResponse, apply_overlay, load_study

MiniStudy = Callable[..., Path]
WriteYaml = Callable[[str, str], Path]

HEADER = """\
kind: overlay
id: licensed
version: "1.0.0"
title: Licensed wording
wording: Licensed NORC wording
"""


def overlay_problems(study_folder: Path, overlay: Path) -> list[str]:
    """Apply `overlay` to the study and return its problems (fails if it applies cleanly)."""
    with pytest.raises(ProtocolErrors) as caught:
        apply_overlay(load_study(study_folder), overlay)
    return caught.value.lines()


def test_overlay_replaces_item_text_and_option_labels(mini_study: MiniStudy, write_yaml: WriteYaml) -> None:
    study = load_study(mini_study())
    overlay = write_yaml(
        "overlays/licensed.yaml",
        HEADER
        + """\
target: survey
replace:
  natspac:
    text: The licensed wording.
    options: {1: Too little (licensed), 3: Too much (licensed)}
""",
    )
    changed = apply_overlay(study, overlay)
    item = changed.instrument("survey").item("natspac")
    assert item.text == "The licensed wording."
    response = changed.instrument("survey").response_for(item)
    assert isinstance(response, SingleChoiceResponse)
    assert response.labels() == {1: "Too little (licensed)", 2: "About right", 3: "Too much (licensed)"}


def test_overlay_leaves_the_original_study_and_other_items_alone(mini_study: MiniStudy, write_yaml: WriteYaml) -> None:
    study = load_study(mini_study())
    overlay = write_yaml("o.yaml", HEADER + "target: survey\nreplace:\n  natspac: {text: The licensed wording.}\n")
    changed = apply_overlay(study, overlay)
    assert study.instrument("survey").item("natspac").text.startswith("Are we spending")
    assert changed.instrument("survey").item("age") == study.instrument("survey").item("age")
    assert [i.id for i in changed.instrument("survey").items] == ["natspac", "age"]


def test_overlay_is_recorded_and_changes_the_effective_hash(mini_study: MiniStudy, write_yaml: WriteYaml) -> None:
    study = load_study(mini_study())
    overlay = write_yaml("o.yaml", HEADER + "target: survey\nreplace:\n  natspac: {text: The licensed wording.}\n")
    before = study.instruments["survey"]
    after = apply_overlay(study, overlay).instruments["survey"]
    assert after.content_hash == before.content_hash
    assert [o.path for o in after.overlays] == [overlay]
    assert after.effective_hash != before.effective_hash == before.content_hash


def test_overlay_replaces_interview_question_text(mini_study: MiniStudy, write_yaml: WriteYaml) -> None:
    study = load_study(mini_study())
    overlay = write_yaml("o.yaml", HEADER + "target: main\nreplace:\n  life_story: {text: The AVP wording.}\n")
    guide = apply_overlay(study, overlay).interview_guide
    assert guide is not None
    assert guide.question("life_story").text == "The AVP wording."
    assert guide.question("life_story").seconds == 600


def test_overlay_with_unknown_item_id_fails_naming_file_and_line(mini_study: MiniStudy, write_yaml: WriteYaml) -> None:
    overlay = write_yaml(
        "o.yaml",
        HEADER
        + """\
target: survey
replace:
  natspac: {text: Fine.}
  natspak: {text: Misspelt.}
""",
    )
    assert overlay_problems(mini_study(), overlay) == [
        f"{overlay}:9: replace.natspak: instrument 'survey' has no item 'natspak' — did you mean 'natspac'?"
    ]


def test_overlay_with_unknown_option_code_fails(mini_study: MiniStudy, write_yaml: WriteYaml) -> None:
    overlay = write_yaml(
        "o.yaml",
        HEADER
        + """\
target: survey
replace:
  natspac:
    options:
      1: Too little
      9: Don't know
""",
    )
    assert overlay_problems(mini_study(), overlay) == [
        f"{overlay}:11: replace.natspac.options[9]: item 'natspac' has no option code 9 — use its codes: 1, 2, 3"
    ]


def test_overlay_cannot_give_options_to_a_number_item(mini_study: MiniStudy, write_yaml: WriteYaml) -> None:
    overlay = write_yaml("o.yaml", HEADER + "target: survey\nreplace:\n  age:\n    options: {1: One}\n")
    assert overlay_problems(mini_study(), overlay) == [
        f"{overlay}:9: replace.age.options: item 'age' is a number item and has no options "
        "— remove options: for this item"
    ]


def test_overlay_target_must_be_in_the_study(mini_study: MiniStudy, write_yaml: WriteYaml) -> None:
    overlay = write_yaml("o.yaml", HEADER + "target: gss_core\nreplace:\n  natspac: {text: Fine.}\n")
    assert overlay_problems(mini_study(), overlay) == [
        f"{overlay}:6: target: study 'mini' has no instrument or interview guide called 'gss_core' "
        "— target one of: survey, main"
    ]
