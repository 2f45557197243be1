"""Two channels become one transcript in time order with speaker labels; WER on normalised words."""

from __future__ import annotations

from interviewer.transcription.merge import (
    count_words,
    merge_channels,
    normalise,
    speaker_turns,
    transcript_text,
    word_error_rate,
)
from interviewer.transcription.whisper import RawSegment, Word


def seg(start: float, end: float, text: str) -> RawSegment:
    return RawSegment(start=start, end=end, text=text, avg_logprob=-0.25, no_speech_prob=0.01,
                      compression_ratio=1.3, words=(Word(start, end, text.split()[0], 0.9),))


def test_segments_of_both_channels_interleave_by_start_time() -> None:
    merged = merge_channels({
        "participant": [seg(4.0, 7.5, "I grew up in Ohio."), seg(12.0, 14.0, "By the river.")],
        "interviewer": [seg(0.5, 3.0, "Where did you grow up?"), seg(8.0, 11.0, "Where exactly?")],
    })
    assert [(s["speaker"], s["start"]) for s in merged] == [
        ("interviewer", 0.5), ("participant", 4.0), ("interviewer", 8.0), ("participant", 12.0)]
    assert merged[0] == {"speaker": "interviewer", "start": 0.5, "end": 3.0, "text": "Where did you grow up?",
                         "avg_logprob": -0.25, "no_speech_prob": 0.01, "words": [[0.5, 3.0, "Where", 0.9]]}


def test_simultaneous_starts_put_the_interviewer_first_then_the_shorter() -> None:
    merged = merge_channels({"participant": [seg(2.0, 3.0, "Mm.")],
                             "interviewer": [seg(2.0, 5.0, "And then?"), seg(2.0, 2.5, "So")]})
    assert [(s["speaker"], s["end"]) for s in merged] == [("interviewer", 2.5), ("interviewer", 5.0),
                                                         ("participant", 3.0)]


def test_turns_join_consecutive_segments_of_one_speaker() -> None:
    merged = merge_channels({"interviewer": [seg(0, 2, "Hello."), seg(9, 10, "Thanks.")],
                             "participant": [seg(3, 5, "Hi."), seg(5, 8, "Nice to meet you.")]})
    assert speaker_turns(merged) == [("interviewer", "Hello."), ("participant", "Hi. Nice to meet you."),
                                     ("interviewer", "Thanks.")]
    assert transcript_text(merged) == "Interviewer: Hello.\nParticipant: Hi. Nice to meet you.\nInterviewer: Thanks."


def test_wer_ignores_case_and_punctuation() -> None:
    assert normalise("Well, I'm from OHIO -- near the river!") == "well i'm from ohio near the river"
    assert word_error_rate("Well, I grew up in Ohio.", "well i grew up in ohio") == 0.0
    assert word_error_rate("one two three four", "one too three four") == 0.25
    assert word_error_rate("", "anything") is None
    assert word_error_rate("some words", "") == 1.0
    assert count_words("It's a long, long way.") == 5
