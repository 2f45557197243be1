"""Hallucinated segments on silence and repetition loops are dropped, with the reason; speech is kept."""

from __future__ import annotations

import pytest

from interviewer.transcription.guards import GuardOptions, drop_reason, guard_segments, longest_run, words_of
from interviewer.transcription.whisper import RawSegment


def seg(text: str, start: float = 0.0, *, no_speech: float = 0.01, logprob: float = -0.2,
        ratio: float = 1.2) -> RawSegment:
    return RawSegment(start=start, end=start + 2.0, text=text, avg_logprob=logprob, no_speech_prob=no_speech,
                      compression_ratio=ratio)


def test_ordinary_speech_is_kept() -> None:
    segments = [seg("I grew up in a small town in Ohio.", 0), seg("My father worked at the mill.", 3)]
    assert guard_segments(segments) == (segments, [])


@pytest.mark.parametrize(("segment", "reason"), [
    (seg("Thank you.", no_speech=0.9, logprob=-1.4), "no_speech"),
    (seg("so so so so so so so so so so so so", ratio=3.1), "compression_ratio"),
    (seg("and the the the the car"), "repeated_ngram"),
    (seg("I went to I went to I went to the store"), "repeated_ngram"),
    (seg("we we we went on and on and on and on"), "repeated_ngram"),
])
def test_each_failure_mode_is_dropped_with_its_reason(segment: RawSegment, reason: str) -> None:
    assert drop_reason(segment, GuardOptions()) == reason


def test_high_no_speech_probability_alone_is_not_enough() -> None:
    # A confidently decoded quiet sentence stays: both conditions of Whisper's silence rule must hold.
    assert drop_reason(seg("Yes, I think so.", no_speech=0.9, logprob=-0.3), GuardOptions()) is None
    assert drop_reason(seg("Yes, I think so.", no_speech=0.2, logprob=-1.5), GuardOptions()) is None


def test_natural_repetition_stays() -> None:
    assert drop_reason(seg("no, no, no, that was later"), GuardOptions()) is None
    assert drop_reason(seg("very very good"), GuardOptions()) is None
    assert drop_reason(seg("on and on and on"), GuardOptions()) is None


def test_a_sentence_repeated_in_the_next_segment_is_a_loop() -> None:
    first = seg("We moved to the city when I was ten.", 0)
    again = seg("We moved to the city when I was ten.", 3)
    later = seg("It was loud.", 6)
    kept, dropped = guard_segments([first, again, later])
    assert kept == [first, later]
    assert [(d.segment, d.reason) for d in dropped] == [(again, "repeated_segment")]


def test_a_short_answer_may_repeat_once_but_not_twice() -> None:
    segments = [seg("Yeah.", 0), seg("Yeah.", 2), seg("Yeah.", 4), seg("Okay.", 6), seg("Yeah.", 8)]
    kept, dropped = guard_segments(segments)
    assert [s.start for s in kept] == [0, 2, 6, 8]
    assert [(d.segment.start, d.reason) for d in dropped] == [(4, "repeated_segment")]


def test_segments_without_words_are_dropped() -> None:
    kept, dropped = guard_segments([seg("..."), seg("♪"), seg("Hello.")])
    assert [s.text for s in kept] == ["Hello."]
    assert [d.reason for d in dropped] == ["empty", "empty"]


def test_helpers() -> None:
    assert words_of("It's on, and ON!") == ["it's", "on", "and", "on"]
    assert longest_run("a b a b a b c".split(), 2) == 3
    assert longest_run(["a"], 2) == 0
    assert GuardOptions().as_dict() == {"no_speech_prob": 0.6, "avg_logprob": -1.0, "compression_ratio": 2.4,
                                        "max_word_repeats": 3, "max_phrase_repeats": 2,
                                        "repeated_segment_min_words": 3}
