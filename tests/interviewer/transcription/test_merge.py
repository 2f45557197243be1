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


def spoken(text: str, start: float, step: float = 0.4) -> tuple[Word, ...]:
    """Words as faster-whisper gives them (a leading space each), one every ``step`` seconds from ``start``."""
    return tuple(Word(round(start + i * step, 3), round(start + i * step + 0.3, 3), f" {word}", 0.9)
                 for i, word in enumerate(text.split()))


def whole(words: tuple[Word, ...]) -> RawSegment:
    return RawSegment(start=words[0].start, end=words[-1].end, text="".join(w.word for w in words).strip(),
                      avg_logprob=-0.3, no_speech_prob=0.02, compression_ratio=1.4, words=words)


def test_an_interviewer_segment_spanning_three_utterances_is_split_and_each_answer_follows_its_question() -> None:
    # The pilot's case: one interviewer-channel segment from 59.0 s to 143.8 s held a question and two
    # follow-ups; the participant's answers fell in its silences.
    question = spoken("Where did you grow up?", 59.0)
    follow_up = spoken("What was school like there?", 95.0)
    second = spoken("And how are your parents now?", 141.4)
    interviewer = RawSegment(start=59.0, end=143.8, text="Where did you grow up? What was school like there? And "
                             "how are your parents now?", avg_logprob=-0.3, no_speech_prob=0.02,
                             compression_ratio=1.4, words=question + follow_up + second)
    merged = merge_channels({
        "interviewer": [interviewer],
        "participant": [whole(spoken("In a small town by the river.", 63.0)),
                        whole(spoken("Hard at first, then I loved it.", 99.0)),
                        whole(spoken("They are retired and well.", 145.0))],
    })
    assert speaker_turns(merged) == [
        ("interviewer", "Where did you grow up?"),
        ("participant", "In a small town by the river."),
        ("interviewer", "What was school like there?"),
        ("participant", "Hard at first, then I loved it."),
        ("interviewer", "And how are your parents now?"),
        ("participant", "They are retired and well."),
    ]
    pieces = [s for s in merged if s["speaker"] == "interviewer"]
    assert [(s["start"], s["end"]) for s in pieces] == [(59.0, 60.9), (95.0, 96.9), (141.4, 143.7)]
    assert pieces[1]["words"][0] == [95.0, 95.3, " What", 0.9] and pieces[1]["avg_logprob"] == -0.3


def test_a_short_pause_splits_a_segment_only_when_the_other_side_speaks_in_it() -> None:
    hm = spoken("Mm, I see.", 10.0) + spoken("Go on.", 11.9)  # a 0.7 s pause after "see."
    alone = merge_channels({"interviewer": [whole(hm)]})
    assert [s["text"] for s in alone] == ["Mm, I see. Go on."]  # a pause for breath: one utterance
    answered = merge_channels({"interviewer": [whole(hm)], "participant": [whole(spoken("Yes.", 11.4))]})
    assert speaker_turns(answered) == [("interviewer", "Mm, I see."), ("participant", "Yes."),
                                       ("interviewer", "Go on.")]
