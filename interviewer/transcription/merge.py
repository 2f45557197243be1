"""Merging the channels into one transcript ordered by time, with speaker labels; word counts and WER.

Each channel is transcribed on its own, so the speaker of a segment is the channel it came from (no
diarisation guesswork). Both channels share the interview's timeline, so ordering by time
interleaves them as the conversation went.

Whisper's segments are not utterances: on the interviewer channel, where the participant's turns
are silence, one segment can run from one question over several answers to the next follow-ups
(one ran from 59.0 s to 143.8 s and held three utterances). Ordered by its start, it would put
every follow-up before the answers it replied to. So segments are ordered by their **words**: a
segment is split into pieces wherever its words pause for ``SPLIT_GAP_S`` or more, or wherever
another channel speaks in the pause between two of its words, and the pieces are ordered by their
first word. A segment without word timestamps stays whole. Ties (two pieces starting in the same
instant) go to the interviewer, then by end time.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from interviewer.transcription.whisper import RawSegment, Word

CHANNELS = ("interviewer", "participant")
"""The channels of an interview, in tie-break order."""

LABELS = {"interviewer": "Interviewer", "participant": "Participant"}
SPLIT_GAP_S = 1.5
"""A pause between two words of one segment at least this long ends an utterance."""

_PUNCTUATION = re.compile(r"[^\w\s']")
_SPACES = re.compile(r"\s+")


def _channel_rank(channel: str) -> tuple[int, str]:
    return (CHANNELS.index(channel), "") if channel in CHANNELS else (len(CHANNELS), channel)


def _spoken_between(other_starts: Sequence[float], start: float, end: float) -> bool:
    index = bisect.bisect_left(other_starts, start)
    return index < len(other_starts) and other_starts[index] < end


def split_at_silences(segment: RawSegment, other_starts: Sequence[float] = (),
                      min_gap_s: float = SPLIT_GAP_S) -> list[RawSegment]:
    """The segment in pieces, one per utterance: broken where its words pause for ``min_gap_s`` or more,
    or where another channel's word starts between two of its words (``other_starts``, sorted)."""
    if len(segment.words) < 2:
        return [segment]
    runs: list[list[Word]] = [[segment.words[0]]]
    for previous, word in zip(segment.words, segment.words[1:], strict=False):
        gap_start, gap_end = previous.end, word.start
        if gap_end - gap_start >= min_gap_s or _spoken_between(other_starts, gap_start, gap_end):
            runs.append([word])
        else:
            runs[-1].append(word)
    if len(runs) == 1:
        return [segment]
    return [RawSegment(start=run[0].start, end=run[-1].end, text="".join(w.word for w in run).strip(),
                       avg_logprob=segment.avg_logprob, no_speech_prob=segment.no_speech_prob,
                       compression_ratio=segment.compression_ratio, words=tuple(run))
            for run in runs]


def merge_channels(per_channel: Mapping[str, Sequence[RawSegment]],
                   min_gap_s: float = SPLIT_GAP_S) -> list[dict[str, Any]]:
    """One list of segment records from every channel, in spoken order, each labelled with its speaker.

    A record is ``{"speaker", "start", "end", "text", "avg_logprob", "no_speech_prob", "words"}`` with
    times in seconds on the interview timeline and ``words`` as ``[start, end, word, probability]``;
    long segments are split at their silences first (module docstring).
    """
    starts_of = {channel: [w.start for s in segments for w in s.words] for channel, segments in per_channel.items()}
    records: list[dict[str, Any]] = []
    for channel, segments in per_channel.items():
        others = sorted(start for name, starts in starts_of.items() if name != channel for start in starts)
        for whole in segments:
            for segment in split_at_silences(whole, others, min_gap_s):
                records.append({
                    "speaker": channel,
                    "start": round(segment.start, 3),
                    "end": round(segment.end, 3),
                    "text": segment.text,
                    "avg_logprob": round(segment.avg_logprob, 4),
                    "no_speech_prob": round(segment.no_speech_prob, 4),
                    "words": [[round(w.start, 3), round(w.end, 3), w.word, round(w.probability, 4)]
                              for w in segment.words],
                })
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
