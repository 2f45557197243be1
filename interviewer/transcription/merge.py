"""Merging the channels into one transcript ordered by time, with speaker labels; word counts and WER.

Each channel is transcribed on its own, so the speaker of a segment is the channel it came from (no
diarisation guesswork). Both channels share the interview's timeline, so ordering by start time
interleaves them as the conversation went. Ties (two segments starting in the same instant) go to
the interviewer, then by end time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from interviewer.transcription.whisper import RawSegment

CHANNELS = ("interviewer", "participant")
"""The channels of an interview, in tie-break order."""

LABELS = {"interviewer": "Interviewer", "participant": "Participant"}

_PUNCTUATION = re.compile(r"[^\w\s']")
_SPACES = re.compile(r"\s+")


def _channel_rank(channel: str) -> tuple[int, str]:
    return (CHANNELS.index(channel), "") if channel in CHANNELS else (len(CHANNELS), channel)


def merge_channels(per_channel: Mapping[str, Sequence[RawSegment]]) -> list[dict[str, Any]]:
    """One list of segment records from every channel, ordered by time, each labelled with its speaker.

    A record is ``{"speaker", "start", "end", "text", "avg_logprob", "no_speech_prob", "words"}`` with
    times in seconds on the interview timeline and ``words`` as ``[start, end, word, probability]``.
    """
    records: list[dict[str, Any]] = [
        {
            "speaker": channel,
            "start": round(segment.start, 3),
            "end": round(segment.end, 3),
            "text": segment.text,
            "avg_logprob": round(segment.avg_logprob, 4),
            "no_speech_prob": round(segment.no_speech_prob, 4),
            "words": [[round(w.start, 3), round(w.end, 3), w.word, round(w.probability, 4)] for w in segment.words],
        }
        for channel, segments in per_channel.items()
        for segment in segments
    ]
    records.sort(key=lambda r: (r["start"], _channel_rank(r["speaker"]), r["end"]))
    return records


def speaker_turns(segments: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Consecutive segments of one speaker joined into turns: ``[(speaker, text), ...]``."""
    turns: list[tuple[str, str]] = []
    for segment in segments:
        if turns and turns[-1][0] == segment["speaker"]:
            turns[-1] = (segment["speaker"], f"{turns[-1][1]} {segment['text']}")
        else:
            turns.append((segment["speaker"], segment["text"]))
    return turns


def transcript_text(segments: Iterable[Mapping[str, Any]]) -> str:
    """The readable transcript: one ``Speaker: text`` line per turn."""
    return "\n".join(f"{LABELS.get(speaker, speaker.title())}: {text}" for speaker, text in speaker_turns(segments))


def normalise(text: str) -> str:
    """Lower case, punctuation removed (apostrophes kept), single spaces: the form WER is computed on."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.lower())).strip()


def count_words(text: str) -> int:
    """Words in ``text`` after normalisation."""
    return len(normalise(text).split())


def word_error_rate(reference: str, hypothesis: str) -> float | None:
    """WER of ``hypothesis`` against ``reference`` after normalisation; None when the reference is empty."""
    import jiwer

    reference, hypothesis = normalise(reference), normalise(hypothesis)
    if not reference:
        return None
    if not hypothesis:
        return 1.0
    return float(jiwer.wer(reference, hypothesis))
