"""Answers are checked against the protocol: impossible submissions are refused, mistakes are explained."""

from __future__ import annotations

import pytest

from survey.errors import TamperedForm
from survey.fields import SKIP_MESSAGE, game_fields, item_field, parse_answers
from survey.runtime import StudyRuntime


@pytest.fixture
def gss_fields(runtime: StudyRuntime):  # type: ignore[no-untyped-def]
    gss = runtime.instrument("gss_core")
    return [item_field(gss.item(i), gss.response_for(i)) for i in ("natspac", "age")]


def test_valid_answers_are_read_as_their_codes(gss_fields) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_answers(gss_fields, {"a.natspac": ["2"], "a.age": ["47"], "token": ["t"]}, reserved=["token"])
    assert parsed.errors == {}
    assert parsed.values == {"natspac": 2, "age": 47}


@pytest.mark.parametrize(("form", "message"), [
    ({"a.natspac": ["2"], "a.age": ["47"], "a.not_an_item": ["1"]},
     "a field this page does not have ('a.not_an_item')"),
    ({"a.natspac": ["9"], "a.age": ["47"]}, "The answer to 'natspac' is not one of its options"),
    ({"a.natspac": ["too little"], "a.age": ["47"]}, "The answer to 'natspac' is not one of its options"),
    ({"a.natspac": ["1", "2"], "a.age": ["47"]}, "The answer to 'natspac' was sent more than once"),
    ({"a.natspac": ["2"], "a.age": ["47"], "is_admin": ["1"]}, "a field this page does not have ('is_admin')"),
])
def test_submissions_no_browser_could_send_are_refused(gss_fields, form, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TamperedForm, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_answers(gss_fields, form)


@pytest.mark.parametrize(("age", "error"), [
    ("17", "Please enter a number from 18 to 89."),
    ("90", "Please enter a number from 18 to 89."),
    ("47.5", "Please enter a whole number."),
    ("forty", "Please enter a number, using digits (for example 3)."),
    ("nan", "Please enter a number, using digits (for example 3)."),
])
def test_numbers_out_of_range_are_errors_to_correct(gss_fields, age, error) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_answers(gss_fields, {"a.natspac": ["1"], "a.age": [age]})
    assert parsed.errors == {"age": error}


def test_a_blank_answer_is_a_skip_once_confirmed(gss_fields) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_answers(gss_fields, {"a.natspac": ["1"]})
    assert parsed.errors == {"age": SKIP_MESSAGE}
    confirmed = parse_answers(gss_fields, {"a.natspac": ["1"], "a.age": [""]}, skips_confirmed=True)
    assert confirmed.errors == {}
    assert confirmed.values == {"natspac": 1, "age": None}
    assert confirmed.skipped == ["age"]


def test_free_text_needs_its_minimum_words(runtime: StudyRuntime) -> None:
    instrument = runtime.instrument("self_description")
    fields = [item_field(instrument.items[0], instrument.response_for(instrument.items[0]))]
    parsed = parse_answers(fields, {"a.self_description": ["I am a teacher."]}, skips_confirmed=True)
    assert parsed.errors == {"self_description": "Please write at least 50 words (you have written 4)."}
    too_long = parse_answers(fields, {"a.self_description": ["word " * 900]})
    assert too_long.errors == {"self_description": "Please keep your answer under 4000 characters (it has 4499)."}


def test_game_decisions_offer_only_the_allowed_amounts_and_are_required(runtime: StudyRuntime) -> None:
    dictator = game_fields(runtime.games["game1_DG"])
    assert [o.form_value for o in dictator[0].options] == ["0", "1", "2", "3", "4", "5"]
    assert parse_answers(dictator, {"a.amount": ["3"]}).values == {"amount": 3}
    with pytest.raises(TamperedForm):
        parse_answers(dictator, {"a.amount": ["6"]})
    missing = parse_answers(dictator, {}, skips_confirmed=True)
    assert missing.errors == {"amount": "Please choose an answer: this decision is needed to continue."}
    receiver = game_fields(runtime.games["game3_TF2"])
    assert [(f.name, [o.value for o in f.options][-1]) for f in receiver] == [
        ("received_3", 3), ("received_6", 6), ("received_9", 9)]
    with pytest.raises(TamperedForm):
        parse_answers(receiver, {"a.received_3": ["4"], "a.received_6": ["0"], "a.received_9": ["0"]})
