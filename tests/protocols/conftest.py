"""A small, valid study written to a temporary folder; tests break one thing at a time.

The `mini_study` fixture writes the files below and returns the folder. Pass changes to edit a
file, e.g. ``mini_study({"games.yaml": ("endowment: 5", "endowment: five")})``. Line numbers in the
tests' expected messages count lines of these texts (line 1 is the `kind:` line).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

STUDY = """\
kind: study
id: mini
version: "1.0.0"
title: Mini study
wording: Test wording.
interview_guides: {main: interview/main.yaml}
interview_guide: main
instruments: {survey: instruments/survey.yaml}
games: games.yaml
experiments: experiments.yaml
waves:
  - number: 1
    steps: [consent, interview, survey, games, experiments]
  - number: 2
    offset_days: 14
    window_days: 7
    steps: [survey]
payments:
  currency: USD
  base: {1: 10.0, 2: 5.0}
  bonus: {rule: preselected_game, game: dg, min: 0, max: 10, per_wave: true}
quotas:
  total: 100
  strata:
    - id: gender
      question: What is your gender?
      cells:
        - {id: female, label: Female, share: 0.5}
        - {id: male, label: Male, share: 0.5}
consent:
  - version: "1"
    file: consent/v1.md
    required_scopes: [participate]
"""

GUIDE = """\
kind: interview_guide
id: main
version: "1.0.0"
title: Main guide
wording: Test wording.
interviewer_name: Isabella
intro:
  text: Hello.
closing:
  text: Goodbye.
modules:
  - id: life
    title: Life
    objective: Learn the life story.
    questions:
      - id: life_story
        source_row: 1
        text: Tell me the story of your life.
        seconds: 600
        objective: Know the life story.
      - id: children_school
        text: What do your children do after school?
        seconds: 80
        objective: Know the children's routine.
        condition:
          note: has_children
          description: whether the participant has children
          skip_when: ["no"]
safety: {distress: Keep going, severe: Call 988, stop_confirm: Stop now,
         stop: Stopping., refusal: Fine., injection: Again., resume: On.}
"""

SURVEY = """\
kind: instrument
id: survey
version: "1.0.0"
title: Survey
wording: Test wording.
source: Test source
order: fixed
scales:
  spend3:
    type: single_choice
    options:
      - {code: 1, label: Too little}
      - {code: 2, label: About right}
      - {code: 3, label: Too much}
items:
  - id: natspac
    source_id: natspac/y
    text: Are we spending too much, too little, or about the right amount on space?
    response: {scale: spend3}
  - id: age
    text: How old are you?
    response: {type: number, min: 18, max: 89, unit: years}
"""

GAMES = """\
kind: games
id: mini_games
version: "1.0.0"
title: Games
wording: Test wording.
currency: USD
games:
  - id: dg
    name: Dictator game
    source: Forsythe et al. 1994
    roles: [dictator, recipient]
    decision_role: dictator
    group_size: 2
    endowment: 5
    multiplier: 1
    payoff_rule: dictator
    decision: {type: amount, min: 0, max: 5, step: 1}
    instructions: Split $5.
    prompt: How much do you give?
"""

EXPERIMENTS = """\
kind: experiments
id: mini_experiments
version: "1.0.0"
title: Experiments
wording: Test wording.
experiments:
  - id: harm
    title: Intentional vs unintentional harm
    source: Ames & Fiske 2015
    assignment: {policy: blocked, block_size: 4}
    conditions:
      - id: intentional
        stimulus: He did it on purpose.
      - id: unintentional
        stimulus: It was an accident.
    outcomes:
      - id: chosen_task
        text: Which task?
        response:
          type: single_choice
          options:
            - {code: 1, label: Blame}
            - {code: 2, label: Quiz}
    analysis: {test: chi_square, outcome: chosen_task, factor: condition}
"""

CONSENT = "# Consent\n\nYou agree to take part.\n"

FILES = {
    "study.yaml": STUDY,
    "interview/main.yaml": GUIDE,
    "instruments/survey.yaml": SURVEY,
    "games.yaml": GAMES,
    "experiments.yaml": EXPERIMENTS,
    "consent/v1.md": CONSENT,
}


Edit = tuple[str, str]


def write_study(folder: Path, changes: dict[str, Edit | list[Edit] | None] | None = None) -> Path:
    """Write the mini study into `folder`.

    `changes` maps a file name to an (old, new) text replacement, a list of them, or None to leave
    the file out. A replacement whose old text is not in the file is a mistake in the test.
    """
    for name, text in FILES.items():
        change = (changes or {}).get(name, [])
        if change is None:
            continue
        for old, new in [change] if isinstance(change, tuple) else change:
            assert old in text, f"{old!r} is not in {name}"
            text = text.replace(old, new)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def mini_study(tmp_path: Path) -> Callable[..., Path]:
    """Call it (optionally with changes, see `write_study`) to write the mini study; returns its folder."""

    def make(changes: dict[str, Edit | list[Edit] | None] | None = None) -> Path:
        return write_study(tmp_path, changes)

    return make


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write dedented YAML text to tmp_path/name and return the path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
