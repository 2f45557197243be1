"""QA flags: each rule with its threshold, in a fixed order; other flags on the interview survive a re-run."""

from __future__ import annotations

from interviewer.transcription.qa import (
    FEW_WORDS_THRESHOLD,
    ChannelReport,
    few_words_threshold,
    qa_flags,
    replace_flags,
    silences,
)

BOTH = {"interviewer": ChannelReport(present=True, segment_count=40),
        "participant": ChannelReport(present=True, segment_count=60)}


def segment(speaker: str, start: float, end: float, logprob: float = -0.3) -> dict:
    return {"speaker": speaker, "start": start, "end": end, "text": "x", "avg_logprob": logprob}


def test_a_full_interview_raises_no_flag() -> None:
    segments = [segment("interviewer" if i % 2 else "participant", i * 10.0, i * 10.0 + 9.0) for i in range(720)]
    assert qa_flags(segments=segments, channels=BOTH, duration_s=7200.0, participant_words=6500,
                    budget_s=7130) == []


def test_the_few_words_threshold_is_two_sd_under_park_et_al_scaled_to_the_guide() -> None:
    assert FEW_WORDS_THRESHOLD == 1409
    assert few_words_threshold(None) == 1409
    assert few_words_threshold(7130) == 1409
    assert few_words_threshold(3565) == 704
    flags = qa_flags(segments=[segment("participant", 0, 5)], channels=BOTH, duration_s=5.0,
                     participant_words=1408, budget_s=None)
    assert flags == [{"flag": "few_participant_words",
                      "detail": "1408 participant words, under 1409 (Park et al. mean 6491 - 2 sd)"}]
    scaled = qa_flags(segments=[segment("participant", 0, 5)], channels=BOTH, duration_s=5.0,
                      participant_words=700, budget_s=3565)
    assert scaled[0] == {"flag": "few_participant_words",
                         "detail": "700 participant words, under 704 (Park et al. mean 6491 - 2 sd, "
                                   "scaled to a 3565 s guide)"}


def test_long_silences_are_counted_with_the_longest() -> None:
    segments = [segment("interviewer", 0, 5), segment("participant", 4, 10), segment("interviewer", 45, 50),
                segment("participant", 50, 55), segment("interviewer", 140, 150)]
    assert silences(segments, 200.0, 30.0) == [(10, 35), (55, 85), (150, 50.0)]
    flags = qa_flags(segments=segments, channels=BOTH, duration_s=200.0, participant_words=5000, budget_s=None)
    assert flags == [{"flag": "long_silence", "detail": "3 silence(s) over 30 s; longest 85.0 s at 0:00:55"}]


def test_a_large_share_of_low_confidence_speech_is_flagged() -> None:
    segments = [segment("participant", 0, 70, logprob=-0.4), segment("participant", 70, 100, logprob=-1.3)]
    flags = qa_flags(segments=segments, channels=BOTH, duration_s=100.0, participant_words=5000, budget_s=None)
    assert flags == [{"flag": "low_confidence",
                      "detail": "30% of speech time is in low-confidence segments (mean log-probability under -1.0)"}]
    fine = [segment("participant", 0, 80, logprob=-0.4), segment("participant", 80, 100, logprob=-1.3)]
    assert qa_flags(segments=fine, channels=BOTH, duration_s=100.0, participant_words=5000, budget_s=None) == []


def test_missing_and_silent_channels() -> None:
    channels = {"participant": ChannelReport(present=True, silent=True)}
    flags = qa_flags(segments=[], channels=channels, duration_s=600.0, participant_words=0, budget_s=None)
    assert flags[:2] == [{"flag": "missing_channel", "detail": "no interviewer recording with audio"},
                         {"flag": "silent_channel", "detail": "the participant channel holds no speech"}]
    no_speech_found = {"interviewer": ChannelReport(present=True, segment_count=3),
                       "participant": ChannelReport(present=True, silent=False, segment_count=0)}
    assert qa_flags(segments=[segment("interviewer", 0, 5)], channels=no_speech_found, duration_s=5.0,
                    participant_words=0, budget_s=None)[0] == {"flag": "silent_channel",
                                                               "detail": "the participant channel holds no speech"}


def test_an_interview_far_under_its_budget_is_flagged() -> None:
    segments = [segment("participant", i * 10.0, i * 10.0 + 9.0) for i in range(300)]
    flags = qa_flags(segments=segments, channels=BOTH, duration_s=3000.0, participant_words=3000, budget_s=7130)
    assert flags == [{"flag": "short_interview",
                      "detail": "recording lasts 50.0 min, under half of the guide's 119 min budget"}]


def test_a_rerun_replaces_only_transcription_flags() -> None:
    existing = [{"flag": "few_participant_words", "detail": "old"}, {"flag": "consent_mismatch", "detail": "keep"}]
    assert replace_flags(existing, [{"flag": "long_silence", "detail": "new"}]) == [
        {"flag": "consent_mismatch", "detail": "keep"}, {"flag": "long_silence", "detail": "new"}]
