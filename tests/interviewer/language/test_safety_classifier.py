"""The safety classifier ships with its labelled set: the head in the package is what the set trains,
the set is well formed, and a damaged head file is refused with a message that says how to fix it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from interviewer.conductor import safety
from interviewer.language.safety_classifier import (
    LABELS,
    SHIPPED_HEAD,
    SafetyClassifier,
    SafetyHead,
    SafetyHeadError,
    _char_hasher,
    decide,
    pieces,
)
from interviewer.language.train_safety import (
    LABELLED_SET,
    SPLITS,
    Example,
    LabelledSetError,
    Vectors,
    head_scores,
    head_version,
    read_labelled_set,
    train,
)


def test_the_labelled_set_has_every_class_in_every_split_and_no_duplicates() -> None:
    examples = read_labelled_set()
    assert len(examples) >= 400
    assert len({e.text for e in examples}) == len(examples)
    counts = Counter((e.label, e.split) for e in examples)
    assert all(counts[(label, split)] >= 15 for label in LABELS for split in SPLITS)


def test_the_shipped_head_names_the_labelled_set_it_was_trained_on() -> None:
    # The version is a hash of the training rows and the recipe: editing either without retraining fails here.
    assert SafetyHead.load().version == head_version(read_labelled_set())


@pytest.mark.slow
def test_retraining_from_the_labelled_set_reproduces_the_shipped_head() -> None:
    shipped = SafetyHead.load()
    retrained, _ = train(read_labelled_set())
    assert retrained.version == shipped.version
    assert retrained.thresholds == pytest.approx(shipped.thresholds, abs=1e-3)
    np.testing.assert_allclose(retrained.weights, shipped.weights, atol=1e-3)
    np.testing.assert_allclose(retrained.bias, shipped.bias, atol=1e-3)


def test_a_long_answer_is_scored_sentence_by_sentence() -> None:
    text = ("We moved to Ohio in 1990 when I was about six. My dad worked at the plant on the night shift for "
            "twenty years. Some days I don't see the point.")
    assert pieces(text) == ["We moved to Ohio in 1990 when I was about six.",
                            "My dad worked at the plant on the night shift for twenty years.",
                            "Some days I don't see the point."]
    assert pieces("   ") == []


def test_a_long_answer_s_run_on_sentence_is_also_scored_clause_by_clause() -> None:
    text = ("I grew up on a farm outside Des Moines, and we had cows and corn, and my dad worked himself half to "
            "death every summer, but he loved it, and when he passed we sold the land to my cousin.")
    assert pieces(text) == [
        text,  # one sentence: itself, then its clause windows
        "I grew up on a farm outside Des Moines, and we had cows and corn,",
        "and we had cows and corn, and my dad worked himself half to death every summer, but he loved it,",
        "and corn, and my dad worked himself half to death every summer, but he loved it,",
        "and my dad worked himself half to death every summer, but he loved it,",
        "but he loved it, and when he passed we sold the land to my cousin.",
        "and when he passed we sold the land to my cousin.",
    ]


def test_self_harm_said_at_the_end_of_a_long_run_on_sentence_is_severe() -> None:
    # head 9's 24-word windows cut this clause in two and missed it (self-harm 0.40)
    text = ("I drive for a delivery company now, mostly the east side routes, it's long hours and the van is old but "
            "the pay is steady enough for the rent, but honestly some nights I sit in the van and think about not "
            "going home ever again.")
    assert SafetyClassifier.shipped().classify(text).signal == "severe"


def test_a_one_sentence_answer_is_scored_whole_only() -> None:
    text = "We moved to Ohio in 1990 and my dad worked at the plant."
    assert pieces(text) == [text]


def test_a_short_answer_is_scored_sentence_by_sentence() -> None:
    text = "I keep my politics to myself. Can we go to the next one?"
    assert pieces(text) == ["I keep my politics to myself.", "Can we go to the next one?"]
    assert SafetyClassifier.shipped().classify(text).signal in {"refusal", "stop"}


def test_an_utterance_is_scored_at_run_time_as_calibration_scored_it() -> None:
    # The int8 encoder's vectors depend on what is encoded with them: an utterance's pieces must be
    # grouped alike when the thresholds are calibrated and when a participant says it.
    classifier = SafetyClassifier.shipped()
    text = "Can we be finished? I'm really tired, and honestly I don't see the point of any of this anymore."
    example = Example(text=text, label="none", phrasing="test", split="train")
    scores = head_scores(classifier.head, Vectors(classifier.encoder, [example]), text)
    classifier.classify("Something else first, so that nothing depends on it.")
    assert classifier.classify(text).scores == pytest.approx(scores, abs=1e-6)


THRESHOLDS = {"severe": 0.6, "distress": 0.85, "stop": 0.55, "refusal": 0.6, "injection": 0.5, "severe_risk": 0.05,
              "severe_escalate": 0.3, "distress_only": 0.65}


def test_distress_with_a_self_harm_score_above_the_escalation_threshold_is_severe() -> None:
    scores = {"severe": 0.45, "distress": 0.9, "stop": 0.0, "refusal": 0.0, "injection": 0.0}
    assert decide(scores, THRESHOLDS).signal == "severe"


def test_distress_with_a_low_self_harm_score_stays_distress() -> None:
    scores = {"severe": 0.1, "distress": 0.9, "stop": 0.0, "refusal": 0.0, "injection": 0.0}
    assert decide(scores, THRESHOLDS).signal == "distress"


def test_a_self_harm_score_without_distress_heard_is_not_escalated() -> None:
    scores = {"severe": 0.45, "distress": 0.5, "stop": 0.0, "refusal": 0.0, "injection": 0.0}
    assert decide(scores, THRESHOLDS).signal == "none"


def test_distress_read_by_the_distress_class_alone_is_heard_below_the_distress_or_self_harm_threshold() -> None:
    scores = {"severe": 0.02, "distress": 0.72, "stop": 0.0, "refusal": 0.0, "injection": 0.0, "distress_only": 0.7}
    assert decide(scores, THRESHOLDS).signal == "distress"


def test_distress_read_by_the_distress_class_alone_is_never_escalated_to_severe() -> None:
    scores = {"severe": 0.4, "distress": 0.8, "stop": 0.0, "refusal": 0.0, "injection": 0.0, "distress_only": 0.7}
    assert decide(scores, THRESHOLDS).signal == "distress"


def test_distress_read_by_the_distress_class_alone_gives_way_to_a_signal_heard_at_its_threshold() -> None:
    scores = {"severe": 0.0, "distress": 0.7, "stop": 0.6, "refusal": 0.0, "injection": 0.0, "distress_only": 0.7}
    assert decide(scores, THRESHOLDS).signal == "stop"


@pytest.mark.parametrize("rival", ["injection", "refusal"])
def test_distress_heard_outranks_an_injection_or_a_refusal_heard_further_above_its_threshold(rival: str) -> None:
    scores = {"severe": 0.0, "distress": 0.9, "stop": 0.0, "refusal": 0.0, "injection": 0.0, rival: 0.99}
    assert decide(scores, THRESHOLDS).signal == "distress"


def test_a_stop_heard_further_above_its_threshold_outranks_distress() -> None:
    scores = {"severe": 0.0, "distress": 0.9, "stop": 0.99, "refusal": 0.0, "injection": 0.0}
    assert decide(scores, THRESHOLDS).signal == "stop"


@pytest.mark.parametrize("text", ["Some nights I just want to go to sleep and never wake up.",
                                  "My family would be better off if I was dead."])
def test_a_self_harm_phrasing_without_a_listed_keyword_is_severe(text: str) -> None:
    assert safety.detect(text) is safety.Signal.NONE  # the old keyword detector misses it
    assert SafetyClassifier.shipped().classify(text).signal == "severe"


@pytest.mark.parametrize("text", [
    # two answers from a simulated interview that head 5 heard as self-harm (0.93) and as an injection (0.85)
    "I definitely felt like a choice. When you're faced with this life, there are many decisions to be made. "
    "Some of the things that happened during my time at work were probably very important because they affected "
    "me in so many ways and taught me valuable lessons",
    # a pilot answer head 12 heard as an injection (0.87); head 13 reads it as ordinary talk (0.44)
    "Oh, I'm a little scared to take on the role of an interviewer. The interview is in front of me with no camera "
    "and maybe some audio as well. You need to do it right now!",
    # ordinary answers not in the labelled set
    "Life throws a lot at you, and you just have to keep making choices and moving forward.",
    "My grandmother died when I was about eight, and I remember the funeral mostly because of all the food.",
    "My manager told the new hire, you need to get those reports in by Friday, and he did.",
    "I'm not sure I'm doing this interview right, am I supposed to talk for a long time?",
    # two answers from another simulated interview (not in the labelled set) that head 6 heard as self-harm
    "I'd always go to a bank and get some money. If they don't have enough cash, it would be hard for me to pay my "
    "rent or buy the house because there was no savings in that situation.",
    "I don't own my home. My mother worked for pay while I was growing up, so she had to buy her house out of pocket "
    "because rent money wasn't going to cover it and she could never afford the",
])
def test_ordinary_life_story_talk_raises_no_signal(text: str) -> None:
    assert SafetyClassifier.shipped().classify(text).signal == "none"


def test_warming_the_classifier_loads_what_the_first_answer_needs() -> None:
    _char_hasher.cache_clear()
    SafetyClassifier.shipped().warm()
    assert _char_hasher.cache_info().currsize == 1  # scikit-learn's hasher: seconds to load, not at the first answer


def test_a_head_trained_for_other_classes_is_refused(tmp_path: Path) -> None:
    data = json.loads(SHIPPED_HEAD.read_text())
    data["labels"] = ["none", "stop"]
    damaged = tmp_path / "head.json"
    damaged.write_text(json.dumps(data))
    with pytest.raises(SafetyHeadError, match="rebuild it with `python -m interviewer.language.train_safety`"):
        SafetyHead.load(damaged)


def test_a_malformed_labelled_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "set.jsonl"
    bad.write_text(LABELLED_SET.read_text().splitlines()[0] + "\n"
                   + json.dumps({"text": "hi", "label": "angry", "phrasing": "direct", "split": "train"}) + "\n")
    with pytest.raises(LabelledSetError, match=r"set.jsonl:2: label 'angry' is not one of"):
        read_labelled_set(bad)
