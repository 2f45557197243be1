"""The schema, file by file: what a valid file gives you, and what each mistake is reported as.

Each test writes one small YAML file, loads it with `load_file`, and asserts the exact message a
study author would read: ``file:line: key.path: what is wrong — what to do``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, get_args, get_origin

import pytest
from pydantic import BaseModel

import protocols
from protocols import (
    MODELS,
    GameSet,
    Instrument,
    InterviewGuide,
    ProtocolError,
    ProtocolErrors,
    SingleChoiceResponse,
    load_file,
)

WriteYaml = Callable[[str, str], Path]


def problems(path: Path) -> list[str]:
    """Load `path` and return its problems as rendered lines (fails if it loads cleanly)."""
    with pytest.raises(ProtocolErrors) as caught:
        load_file(path)
    return caught.value.lines()


# --- The header and the loaded file ---------------------------------------------------------


def test_loaded_file_carries_path_version_and_sha256_of_its_bytes(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "g.yaml",
        """\
        kind: interview_guide
        id: g
        version: "2.1.0"
        title: Test
        wording: Test wording.
        interviewer_name: Isabella
        intro: {text: Hello.}
        closing: {text: Bye.}
        modules:
          - id: m
            title: M
            objective: O
            questions:
              - {id: q, text: "Q?", seconds: 60, objective: O}
        safety: {distress: Keep going, severe: Call 988, stop_confirm: Stop now,
                 stop: Stopping., refusal: Fine., injection: Again., resume: On.}
        """,
    )
    loaded = load_file(path)
    assert isinstance(loaded.data, InterviewGuide)
    assert loaded.path == path
    assert loaded.version == "2.1.0"
    assert loaded.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()


def test_unknown_kind_is_an_error_naming_the_kinds(write_yaml: WriteYaml) -> None:
    path = write_yaml("x.yaml", "kind: questionnaire\nid: x\n")
    assert problems(path) == [
        f"{path}:1: kind: unknown kind 'questionnaire' — use one of: "
        "interview_guide | instrument | games | experiments | study | overlay"
    ]


def test_a_file_without_kind_is_an_error(write_yaml: WriteYaml) -> None:
    path = write_yaml("x.yaml", "id: x\n")
    assert problems(path) == [
        f"{path}:1: missing required key 'kind' — start the file with kind: "
        "interview_guide | instrument | games | experiments | study | overlay"
    ]


def test_an_unquoted_version_number_must_be_quoted(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: 1.0
        title: Test
        wording: Test wording.
        order: fixed
        items:
          - {id: q, text: "Q?", response: {type: text, max_chars: 100}}
        """,
    )
    assert problems(path) == [f'{path}:3: version: expected text, got the number 1.0 — put it in quotes: "1.0"']


# --- YAML itself ----------------------------------------------------------------------------


def test_bad_yaml_syntax_names_the_line(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        title: Test: a colon
        """,
    )
    assert problems(path) == [
        f"{path}:3: YAML syntax error: mapping values are not allowed here — a value that contains ': ' "
        "must be quoted, or written as a block with >- on the line above"
    ]


def test_tab_indentation_is_a_syntax_error_with_its_own_fix(write_yaml: WriteYaml) -> None:
    path = write_yaml("i.yaml", "kind: instrument\nitems:\n\t- id: q\n")
    assert problems(path) == [
        f"{path}:3: YAML syntax error: found character '\\t' that cannot start any token "
        "— indent with spaces, never tabs"
    ]


def test_duplicate_yaml_key_is_an_error_at_the_second_occurrence(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: fixed
        items:
          - id: q
            text: First wording
            text: Second wording
            response: {type: text, max_chars: 100}
        """,
    )
    assert problems(path) == [
        f"{path}:10: items[0]: duplicate key 'text' (first at line 9) — keep only one of them; "
        "YAML would silently use the last one"
    ]


def test_yaml_merge_keys_copy_an_anchor_and_local_keys_win(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "e.yaml",
        """\
        kind: experiments
        id: e
        version: "1.0.0"
        title: Test
        wording: Test wording.
        experiments:
          - id: harm
            title: Harm
            source: Ames & Fiske 2015
            assignment: {policy: blocked, block_size: 2}
            conditions:
              - &intentional
                id: intentional
                stimulus: Dave swapped the medications.
              - <<: *intentional
                id: unintentional
            outcomes:
              - {id: blame, text: "How much blame?", response: {type: likert, points: 7, anchors: {1: None, 7: All}}}
            analysis: {test: t_test, outcome: blame, factor: condition}
        """,
    )
    conditions = load_file(path).data.experiments[0].conditions
    assert [(c.id, c.stimulus) for c in conditions] == [
        ("intentional", "Dave swapped the medications."),
        ("unintentional", "Dave swapped the medications."),
    ]


def test_an_empty_file_is_an_error(write_yaml: WriteYaml) -> None:
    path = write_yaml("i.yaml", "# nothing yet\n")
    assert problems(path) == [
        f"{path}:1: the file is empty — start it with the header keys kind, id, version, title and wording "
        "(see protocols/FORMAT.md)"
    ]


# --- Closed mappings and types --------------------------------------------------------------


def test_unknown_field_is_an_error_that_suggests_the_allowed_keys(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "g.yaml",
        """\
        kind: interview_guide
        id: g
        version: "1.0.0"
        title: Test
        wording: Test wording.
        interviewer_name: Isabella
        intro: {text: Hello.}
        closing: {text: Bye.}
        modules:
          - id: m
            title: M
            objective: O
            questions:
              - id: q
                text: Q?
                seconds: 60
                objectve: O
        safety: {distress: Keep going, severe: Call 988, stop_confirm: Stop now,
                 stop: Stopping., refusal: Fine., injection: Again., resume: On.}
        """,
    )
    assert problems(path) == [
        f"{path}:14: modules[0].questions[0]: missing required key 'objective' — add objective: "
        "(see protocols/FORMAT.md)",
        f"{path}:17: modules[0].questions[0]: unknown key 'objectve' — did you mean 'objective'? Keys allowed "
        "here: id, source_row, text, seconds, objective, followup_guidance, sensitive, condition",
    ]


def test_wrong_type_names_the_value_and_the_fix(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "g.yaml",
        """\
        kind: interview_guide
        id: g
        version: "1.0.0"
        title: Test
        wording: Test wording.
        interviewer_name: Isabella
        intro: {text: Hello.}
        closing: {text: Bye.}
        modules:
          - id: m
            title: M
            objective: O
            questions:
              - id: q
                text: Q?
                seconds: "625"
                objective: O
        safety: {distress: Keep going, severe: Call 988, stop_confirm: Stop now,
                 stop: Stopping., refusal: Fine., injection: Again., resume: On.}
        """,
    )
    assert problems(path) == [
        f"{path}:16: modules[0].questions[0].seconds: expected a whole number, got the text '625' "
        "— write the number without quotes"
    ]


def test_yes_and_no_must_be_quoted_where_text_is_expected(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "g.yaml",
        """\
        kind: interview_guide
        id: g
        version: "1.0.0"
        title: Test
        wording: Test wording.
        interviewer_name: Isabella
        intro: {text: Hello.}
        closing: {text: Bye.}
        modules:
          - id: m
            title: M
            objective: O
            questions:
              - id: q
                text: Q?
                seconds: 60
                objective: O
                condition:
                  note: has_children
                  description: whether the participant has children
                  skip_when: [no]
        safety: {distress: Keep going, severe: Call 988, stop_confirm: Stop now,
                 stop: Stopping., refusal: Fine., injection: Again., resume: On.}
        """,
    )
    assert problems(path) == [
        f"{path}:21: modules[0].questions[0].condition.skip_when[0]: expected text, got the boolean false "
        '(YAML reads unquoted yes/no/on/off as booleans) — put the word in quotes, e.g. "no"'
    ]


def test_seconds_must_be_positive(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "g.yaml",
        """\
        kind: interview_guide
        id: g
        version: "1.0.0"
        title: Test
        wording: Test wording.
        interviewer_name: Isabella
        intro: {text: Hello.}
        closing: {text: Bye.}
        modules:
          - id: m
            title: M
            objective: O
            questions:
              - {id: q, text: "Q?", seconds: 0, objective: O}
        safety: {distress: Keep going, severe: Call 988, stop_confirm: Stop now,
                 stop: Stopping., refusal: Fine., injection: Again., resume: On.}
        """,
    )
    assert problems(path) == [
        f"{path}:14: modules[0].questions[0].seconds: 0 is out of range: it must be greater than 0 — correct the value"
    ]


def test_ids_are_lowercase_slugs(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: fixed
        items:
          - {id: NatSpac, text: "Q?", response: {type: text, max_chars: 100}}
        """,
    )
    assert problems(path) == [
        f"{path}:8: items[0].id: 'NatSpac' is not a valid id — use only lowercase letters, digits and underscores"
    ]


# --- interview_guide ------------------------------------------------------------------------


def test_duplicate_question_id_across_modules_is_an_error(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "g.yaml",
        """\
        kind: interview_guide
        id: g
        version: "1.0.0"
        title: Test
        wording: Test wording.
        interviewer_name: Isabella
        intro: {text: Hello.}
        closing: {text: Bye.}
        modules:
          - id: first
            title: First
            objective: O
            questions:
              - {id: family_now, text: "Q?", seconds: 60, objective: O}
          - id: second
            title: Second
            objective: O
            questions:
              - {id: family_now, text: "Q again?", seconds: 60, objective: O}
        safety: {distress: Keep going, severe: Call 988, stop_confirm: Stop now,
                 stop: Stopping., refusal: Fine., injection: Again., resume: On.}
        """,
    )
    assert problems(path) == [
        f"{path}:19: modules[1].questions[0].id: duplicate question id 'family_now' (first at line 14) "
        "— question ids must be unique across the whole guide"
    ]


def test_guide_totals_count_only_timed_questions(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "g.yaml",
        """\
        kind: interview_guide
        id: g
        version: "1.0.0"
        title: Test
        wording: Test wording.
        interviewer_name: Isabella
        intro: {text: Hello.}
        closing: {text: Bye.}
        modules:
          - id: m
            title: M
            objective: O
            questions:
              - {id: a, text: "A?", seconds: 625, objective: O}
              - {id: b, text: "B?", seconds: 235, objective: O}
        safety: {distress: Keep going, severe: Call 988, stop_confirm: Stop now,
                 stop: Stopping., refusal: Fine., injection: Again., resume: On.}
        """,
    )
    guide = load_file(path).data
    assert [q.id for q in guide.questions()] == ["a", "b"]
    assert guide.total_seconds == 860


def test_a_turning_point_written_as_a_phrase_is_an_error(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "g.yaml",
        """\
        kind: interview_guide
        id: g
        version: "1.0.0"
        title: Test
        wording: Test wording.
        interviewer_name: Isabella
        intro: {text: Hello.}
        closing: {text: Bye.}
        modules:
          - id: m
            title: M
            objective: O
            questions:
              - {id: a, text: "A?", seconds: 625, objective: O}
        followups:
          event: ["What was it like when {anchor}?"]
          situation: ["How did it come about that {anchor}?"]
          feeling: ["What made you feel {anchor}?"]
          person: ["How would you describe {anchor}?"]
          place: ["What was life like in {anchor}?"]
          generic: ["What was that like?"]
          turning_points: [die, passed away]
        safety: {distress: Keep going, severe: Call 988, stop_confirm: Stop now,
                 stop: Stopping., refusal: Fine., injection: Again., resume: On.}
        """,
    )
    assert [line.split(": ", 2)[1:] for line in problems(path)] == [[
        "followups.turning_points[1]",
        "turning point 'passed away' is not one lower-case word — list single words "
        '("die" or "died", not "passed away")']]


# --- instrument -----------------------------------------------------------------------------


def test_duplicate_item_id_is_an_error(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: fixed
        items:
          - {id: happy, text: "Q?", response: {type: text, max_chars: 100}}
          - {id: happy, text: "Q again?", response: {type: text, max_chars: 100}}
        """,
    )
    assert problems(path) == [
        f"{path}:9: items[1].id: duplicate item id 'happy' (first at line 8) — give every item its own id"
    ]


def test_option_codes_must_be_unique(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: fixed
        items:
          - id: q
            text: Q?
            response:
              type: single_choice
              options:
                - {code: 1, label: Too little}
                - {code: 1, label: Too much}
        """,
    )
    assert problems(path) == [
        f"{path}:14: items[0].response.options[1].code: duplicate option code 1 (first at line 13) "
        "— give every option its own code"
    ]


def test_number_bounds_need_min_below_max(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: fixed
        items:
          - id: age
            text: How old are you?
            response: {type: number, min: 89, max: 18, unit: years}
        """,
    )
    assert problems(path) == [
        f"{path}:10: items[0].response.max: max (18) must be greater than min (89) — swap or correct the bounds"
    ]


def test_likert_anchors_must_label_both_ends(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: randomized
        items:
          - id: q
            text: Q?
            response:
              type: likert
              points: 5
              anchors: {1: Disagree strongly, 4: Agree a little}
        """,
    )
    assert problems(path) == [
        f"{path}:13: items[0].response.anchors: anchors must label both ends of the scale; missing 5 "
        "— add labels for 1 and 5"
    ]


def test_a_response_needs_a_known_type(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: fixed
        items:
          - {id: q, text: "Q?", response: {type: slider, min: 0, max: 10}}
        """,
    )
    assert problems(path) == [
        f"{path}:8: items[0].response: unknown type 'slider' — use one of: single_choice, number, likert, text "
        "(or scale: <name> for a scale declared under scales:)"
    ]


def test_an_item_may_only_name_a_declared_scale(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: fixed
        scales:
          yes_no:
            type: single_choice
            options: [{code: 1, label: "Yes"}, {code: 2, label: "No"}]
        items:
          - {id: q, text: "Q?", response: {scale: yesno}}
        """,
    )
    assert problems(path) == [
        f"{path}:12: items[0].response.scale: unknown scale 'yesno' — declare it under scales: (known: yes_no)"
    ]


def test_scale_references_resolve_to_the_declared_response(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: fixed
        scales:
          yes_no:
            type: single_choice
            options: [{code: 1, label: "Yes"}, {code: 2, label: "No"}]
        items:
          - {id: q, text: "Q?", response: {scale: yes_no}}
        """,
    )
    instrument = load_file(path).data
    response = instrument.response_for("q")
    assert isinstance(response, SingleChoiceResponse)
    assert response.labels() == {1: "Yes", 2: "No"}


def test_trait_scoring_needs_a_trait_on_every_item(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: randomized
        scoring: {method: mean_by_trait}
        scales:
          agree5: {type: likert, points: 5, anchors: {1: Disagree, 5: Agree}}
        items:
          - {id: b1, text: Talkative, response: {scale: agree5}, trait: extraversion}
          - {id: b2, text: Finds fault, response: {scale: agree5}, reverse: true}
        """,
    )
    assert problems(path) == [
        f"{path}:12: items[1]: item 'b2' has no trait, but the instrument is scored mean_by_trait "
        "— add trait: <name> to the item"
    ]


def test_only_likert_or_number_items_can_be_reverse_keyed(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: fixed
        items:
          - id: q
            text: Describe yourself.
            response: {type: text, max_chars: 100}
            reverse: true
        """,
    )
    assert problems(path) == [
        f"{path}:11: items[0].reverse: only likert or number items can be reverse-keyed, this one is text "
        "— remove reverse: true"
    ]


def test_scoring_key_lists_items_by_trait_in_item_order(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "i.yaml",
        """\
        kind: instrument
        id: i
        version: "1.0.0"
        title: Test
        wording: Test wording.
        order: randomized
        scoring: {method: mean_by_trait}
        scales:
          agree5: {type: likert, points: 5, anchors: {1: Disagree, 5: Agree}}
        items:
          - {id: b1, text: Talkative, response: {scale: agree5}, trait: extraversion}
          - {id: b2, text: Finds fault, response: {scale: agree5}, trait: agreeableness, reverse: true}
          - {id: b6, text: Reserved, response: {scale: agree5}, trait: extraversion, reverse: true}
        """,
    )
    instrument = load_file(path).data
    assert isinstance(instrument, Instrument)
    assert instrument.scoring_key() == {
        "extraversion": [("b1", False), ("b6", True)],
        "agreeableness": [("b2", True)],
    }


# --- games ----------------------------------------------------------------------------------

GAME = """\
kind: games
id: g
version: "1.0.0"
title: Test
wording: Test wording.
currency: USD
games:
  - id: game1_DG
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


def test_a_game_cannot_give_away_more_than_its_endowment(write_yaml: WriteYaml) -> None:
    path = write_yaml("games.yaml", GAME.replace("max: 5, step: 1", "max: 10, step: 1"))
    assert problems(path) == [
        f"{path}:17: games[0].decision.max: the amount must lie within the endowment 0..5, not 0..10 "
        "— keep decision min and max between 0 and the endowment"
    ]


def test_a_game_needs_a_known_payoff_rule(write_yaml: WriteYaml) -> None:
    path = write_yaml("games.yaml", GAME.replace("payoff_rule: dictator", "payoff_rule: ultimatum"))
    assert problems(path) == [
        f"{path}:8: games[0]: unknown payoff_rule 'ultimatum' — use one of: dictator, trust_sender, "
        "trust_receiver, public_goods, prisoners_dilemma"
    ]


def test_the_decision_role_must_be_one_of_the_roles(write_yaml: WriteYaml) -> None:
    path = write_yaml("games.yaml", GAME.replace("decision_role: dictator", "decision_role: sender"))
    assert problems(path) == [
        f"{path}:12: games[0].decision_role: decision_role 'sender' is not one of the roles (dictator, recipient) "
        "— name one of the roles listed under roles:"
    ]


TRUST = """\
kind: games
id: g
version: "1.0.0"
title: Test
wording: Test wording.
currency: USD
games:
  - id: game2_TF1
    name: Trust game, sender
    source: Berg et al. 1995
    roles: [sender, receiver]
    decision_role: sender
    group_size: 2
    endowment: 3
    multiplier: 3
    payoff_rule: trust_sender
    decision: {type: amount, min: 0, max: 3, step: 1}
    instructions: Send some of $3.
    prompt: How much do you send?
  - id: game3_TF2
    name: Trust game, receiver
    source: Berg et al. 1995
    roles: [sender, receiver]
    decision_role: receiver
    group_size: 2
    endowment: 3
    multiplier: 3
    payoff_rule: trust_receiver
    parameters:
      sender_game: game2_TF1
      received: {r3: 3, r6: 6, r9: 9}
    decision:
      type: amounts_by_case
      cases:
        - {id: r3, label: You receive $3, min: 0, max: 3}
        - {id: r6, label: You receive $6, min: 0, max: 6}
        - {id: r9, label: You receive $9, min: 0, max: 9}
    instructions: Return some of what you receive.
    prompt: How much do you send back in each case?
"""


def test_trust_receiver_cases_cover_every_amount_the_sender_can_send(write_yaml: WriteYaml) -> None:
    path = write_yaml("games.yaml", TRUST)
    games = load_file(path).data
    assert isinstance(games, GameSet)
    assert games.game("game3_TF2").parameters.received == {"r3": 3, "r6": 6, "r9": 9}


def test_trust_receiver_must_name_a_trust_sender_game(write_yaml: WriteYaml) -> None:
    path = write_yaml("games.yaml", TRUST.replace("sender_game: game2_TF1", "sender_game: game2_TF"))
    assert problems(path) == [
        f"{path}:30: games[1].parameters.sender_game: sender_game 'game2_TF' is not a game in this file "
        "— name one of: game2_TF1, game3_TF2"
    ]


def test_trust_receiver_received_amounts_must_match_the_sender_game(write_yaml: WriteYaml) -> None:
    text = TRUST.replace("r9: 9}", "r9: 12}").replace("min: 0, max: 9}", "min: 0, max: 12}")
    path = write_yaml("games.yaml", text)
    assert problems(path) == [
        f"{path}:31: games[1].parameters.received: the amounts received (3, 6, 12) do not match what "
        "game2_TF1 can send times 3 (3, 6, 9) — list one case for every amount the sender can send, except 0"
    ]


# --- experiments ----------------------------------------------------------------------------

EXPERIMENT = """\
kind: experiments
id: e
version: "1.0.0"
title: Test
wording: Test wording.
experiments:
  - id: cooney_2016
    title: Fairness
    source: Cooney et al. 2016
    assignment: {policy: blocked, block_size: 4}
    conditions:
      - {id: fair_bonus, factors: {procedure: fair, outcome: bonus}, stimulus: A}
      - {id: fair_none, factors: {procedure: fair, outcome: none}, stimulus: B}
      - {id: unfair_bonus, factors: {procedure: unfair, outcome: bonus}, stimulus: C}
      - {id: unfair_none, factors: {procedure: unfair, outcome: none}, stimulus: D}
    outcomes:
      - id: upset
        text: How upset?
        response: {type: likert, points: 7, anchors: {1: Not at all, 7: Extremely}}
    analysis: {test: anova_interaction, outcome: upset, factors: [procedure, outcome]}
"""


def test_a_factorial_experiment_loads(write_yaml: WriteYaml) -> None:
    experiment = load_file(write_yaml("e.yaml", EXPERIMENT)).data.experiment("cooney_2016")
    assert experiment.levels("procedure") == ["fair", "unfair"]


def test_block_size_must_hold_every_condition_equally_often(write_yaml: WriteYaml) -> None:
    path = write_yaml("e.yaml", EXPERIMENT.replace("block_size: 4", "block_size: 6"))
    assert problems(path) == [
        f"{path}:10: experiments[0].assignment.block_size: block_size 6 cannot hold each of the 4 conditions "
        "equally often — use a multiple of 4"
    ]


def test_the_analysis_must_name_declared_factors(write_yaml: WriteYaml) -> None:
    path = write_yaml("e.yaml", EXPERIMENT.replace("factors: [procedure, outcome]", "factors: [procedure, result]"))
    assert problems(path) == [
        f"{path}:20: experiments[0].analysis.factors[1]: factor 'result' is not declared in the conditions' "
        "factors — use one of: procedure, outcome"
    ]


def test_every_condition_names_the_same_factors(write_yaml: WriteYaml) -> None:
    text = EXPERIMENT.replace("{procedure: unfair, outcome: none}", "{procedure: unfair}")
    path = write_yaml("e.yaml", text)
    assert problems(path) == [
        f"{path}:15: experiments[0].conditions[3].factors: condition 'unfair_none' has factors ['procedure'], "
        "others have ['outcome', 'procedure'] — name the same factors in every condition"
    ]


# --- study ----------------------------------------------------------------------------------


def test_quota_shares_must_add_to_one(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "study.yaml",
        """\
        kind: study
        id: s
        version: "1.0.0"
        title: Test
        wording: Test wording.
        instruments: {survey: survey.yaml}
        waves:
          - number: 1
            steps: [consent, survey]
        payments: {currency: USD, base: {1: 10}}
        quotas:
          total: 100
          strata:
            - id: gender
              question: What is your gender?
              cells:
                - {id: female, label: Female, share: 0.6}
                - {id: male, label: Male, share: 0.5}
        consent:
          - {version: "1", file: consent.md, required_scopes: [participate]}
        """,
    )
    assert problems(path) == [
        f"{path}:16: quotas.strata[0].cells: the shares of stratum 'gender' add to 1.1000, not 1 "
        "— correct the shares so that they add to 1 (within 0.01)"
    ]


def test_wave_one_must_begin_with_consent(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "study.yaml",
        """\
        kind: study
        id: s
        version: "1.0.0"
        title: Test
        wording: Test wording.
        instruments: {survey: survey.yaml}
        waves:
          - number: 1
            steps: [survey, consent]
        payments: {currency: USD, base: {1: 10}}
        consent:
          - {version: "1", file: consent.md, required_scopes: [participate]}
        """,
    )
    assert problems(path) == [
        f"{path}:9: waves[0].steps[0]: wave 1 must begin with consent, not 'survey' "
        "— put consent first: nothing may happen before it"
    ]


def test_a_later_wave_needs_its_offset_and_window(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "study.yaml",
        """\
        kind: study
        id: s
        version: "1.0.0"
        title: Test
        wording: Test wording.
        instruments: {survey: survey.yaml}
        waves:
          - number: 1
            steps: [consent, survey]
          - number: 2
            offset_days: 14
            steps: [survey]
        payments: {currency: USD, base: {1: 10, 2: 5}}
        consent:
          - {version: "1", file: consent.md, required_scopes: [participate]}
        """,
    )
    assert problems(path) == [f"{path}:10: waves[1]: wave 2 needs window_days — add window_days: <days>"]


# --- errors render like compiler messages ---------------------------------------------------


def test_protocol_error_renders_file_line_key_path_message_and_fix() -> None:
    error = ProtocolError(
        "expected a number, got 'three'",
        file="games.yaml",
        line=42,
        key_path=("games", 2, "endowment"),
        fix="write a number such as 3",
    )
    assert str(error) == "games.yaml:42: games[2].endowment: expected a number, got 'three' — write a number such as 3"


def test_protocol_errors_lists_every_problem_under_a_count() -> None:
    errors = ProtocolErrors(
        [ProtocolError("first", file="a.yaml", line=1), ProtocolError("second", file="b.yaml", line=2, fix="do X")]
    )
    assert str(errors) == "2 problems in the study protocol:\na.yaml:1: first\nb.yaml:2: second — do X"
    assert [e.message for e in errors] == ["first", "second"]


# --- the format is documented ---------------------------------------------------------------


def _keys(annotation: object, seen: set[type]) -> set[str]:
    """Every key name accepted anywhere below `annotation`."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return set()
        seen.add(annotation)
        keys = set(annotation.model_fields)
        for info in annotation.model_fields.values():
            keys |= _keys(info.annotation, seen)
        return keys
    return set().union(*(_keys(arg, seen) for arg in get_args(annotation)))


def test_every_key_the_schema_accepts_is_documented_in_format_md() -> None:
    doc = (Path(protocols.__file__).parent / "FORMAT.md").read_text(encoding="utf-8")
    keys: set[str] = set()
    for model in MODELS.values():
        keys |= _keys(model, set())
    undocumented = sorted(k for k in keys if not re.search(rf"(?<![\w]){k}:", doc) and f"`{k}`" not in doc)
    assert undocumented == []
