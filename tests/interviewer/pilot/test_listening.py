"""The pilot's listening measures, on a small hand-made transcript whose answers are known."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from interviewer.language.sentences import shared_encoder
from interviewer.pilot.listening import Listening, rates, safety_counts, safety_moments, unprompted_signals

LIFE, POLITICS = "life_story_overview", "political_views"


@dataclass(frozen=True)
class HandTurn:
    """A stored turn, as the report reads one."""

    seq: int
    speaker: str
    kind: str
    question_id: str | None
    text: str


@pytest.fixture(scope="module")
def transcript(short_guide) -> list[HandTurn]:  # noqa: ANN001
    guide = short_guide.data
    lines = [
        ("interviewer", "scripted", LIFE, guide.question(LIFE).text),
        ("participant", "answer", LIFE, "I grew up in Dayton with my grandmother. Now I work nights as a nurse at "
                                        "the hospital."),
        ("interviewer", "followup", LIFE, "How would you describe your grandmother?"),   # grounded
        ("participant", "answer", LIFE, "She was strict but kind."),
        ("interviewer", "followup", LIFE, "What do you do for a living?"),               # redundant: a nurse
        ("participant", "answer", LIFE, "I told you, I'm a nurse."),
        ("interviewer", "followup", LIFE, "Could you tell me a little more about that?"),  # generic
        ("participant", "answer", LIFE, "Not much more to say."),
        ("interviewer", "scripted", POLITICS, guide.question(POLITICS).text),
        ("participant", "answer", POLITICS, "I care about healthcare, and I grew up in Ohio."),
        ("interviewer", "followup", POLITICS, "What was life like for you in Ohio?"),    # grounded, off topic
    ]
    return [HandTurn(seq, *line) for seq, line in enumerate(lines)]


def test_each_follow_up_is_judged_grounded_generic_redundant_or_off_topic(short_guide, transcript) -> None:
    verdicts = Listening(short_guide.data, shared_encoder()).judge(transcript)
    flags = [(v["text"], v["grounded"], v["generic"], v["redundant"], v["off_topic"]) for v in verdicts]
    assert flags == [
        ("How would you describe your grandmother?", True, False, False, False),
        ("What do you do for a living?", False, False, True, False),
        ("Could you tell me a little more about that?", False, True, False, False),
        ("What was life like for you in Ohio?", True, False, False, True),
    ]
    assert verdicts[1]["answer"] == "She was strict but kind."  # the answer the follow-up came after


def test_the_listening_rates_are_shares_of_all_follow_ups(short_guide, transcript) -> None:
    verdicts = Listening(short_guide.data, shared_encoder()).judge(transcript)
    assert rates(verdicts) == {"grounded_rate": 0.5, "generic_rate": 0.25, "redundant_rate": 0.25,
                               "off_topic_rate": 0.25}
    assert rates([]) == dict.fromkeys(["grounded_rate", "generic_rate", "redundant_rate", "off_topic_rate"])


def test_a_scripted_moment_is_handled_only_when_the_reply_to_it_records_its_signal(transcript) -> None:
    moments = [
        {"signal": "distress", "question_id": LIFE, "text": "She was strict but kind."},
        {"signal": "refusal", "question_id": POLITICS, "text": "I care about healthcare, and I grew up in Ohio."},
        {"signal": "stop", "question_id": "values_most", "text": "I have to go now."},
    ]
    events = [{"type": "distress", "question_id": LIFE, "source": "classifier", "seq": 4},
              {"type": "refusal", "question_id": LIFE, "source": "classifier", "seq": 8}]  # a different answer
    outcomes = safety_moments(transcript, events, moments)
    assert [o["outcome"] for o in outcomes] == ["handled", "missed", "not_reached"]
    assert safety_counts(outcomes) == {
        "severe": {"handled": 0, "missed": 0, "not_reached": 0},
        "distress": {"handled": 1, "missed": 0, "not_reached": 0},
        "stop": {"handled": 0, "missed": 0, "not_reached": 1},
        "refusal": {"handled": 0, "missed": 1, "not_reached": 0},
        "injection": {"handled": 0, "missed": 0, "not_reached": 0},
    }


def test_a_safety_response_to_an_answer_that_was_not_a_scripted_moment_counts_as_a_false_signal(transcript) -> None:
    moments = [{"signal": "distress", "question_id": LIFE, "text": "She was strict but kind."}]
    events = [{"type": "distress", "question_id": LIFE, "source": "classifier", "seq": 4},   # the moment: heard
              {"type": "refusal", "question_id": LIFE, "source": "llm", "seq": 8},          # "Not much more to say."
              {"type": "skip", "question_id": POLITICS, "source": "notes", "seq": 8}]       # not a safety response
    assert unprompted_signals(transcript, events, moments) == {"refusal:llm": 1}


def test_talk_of_self_harm_is_handled_only_by_the_crisis_line_and_distress_also_by_it(transcript) -> None:
    moments = [{"signal": "severe", "question_id": LIFE, "text": "She was strict but kind."},
               {"signal": "distress", "question_id": LIFE, "text": "Not much more to say."}]
    events = [{"type": "distress", "question_id": LIFE, "source": "classifier", "seq": 4},
              {"type": "severe", "question_id": LIFE, "source": "classifier", "seq": 8}]
    assert [o["outcome"] for o in safety_moments(transcript, events, moments)] == ["missed", "handled"]
