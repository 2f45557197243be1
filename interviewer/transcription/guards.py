"""Guards against Whisper's known failure modes on long recordings: hallucinated text on silence and
repetition loops.

A segment is dropped when:

* ``no_speech``: the model thinks the window holds no speech (``no_speech_prob`` above 0.6) *and* is
  unsure of its words (``avg_logprob`` below -1.0): Whisper's own silence rule, which the batched
  pipeline does not apply. This is where "Thank you." on a silent stretch comes from.
* ``compression_ratio``: its text compresses more than 2.4 times with zlib (Whisper's own bound for
  degenerate, repetitive output).
* ``repeated_ngram``: it repeats one word 4 or more times back to back, or a 2- to 4-word phrase 3 or
  more times ("I went to I went to I went to"): loops, not speech.
* ``repeated_segment``: it repeats the previous kept segment of the same channel word for word, when
  that text has 3 words or more, or for the third time in a row when shorter (people do say
  "yeah." twice; whole sentences said twice over are a decoder loop).
* ``empty``: it holds no word at all (only punctuation or a music sign).

The thresholds are the defaults of openai/whisper and faster-whisper where those exist; they are
recorded in every transcript's settings, so changing them changes the settings hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from interviewer.transcription.whisper import RawSegment

_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class GuardOptions:
    """Thresholds of the hallucination and repetition guards."""

    no_speech_prob: float = 0.6
    avg_logprob: float = -1.0
    compression_ratio: float = 2.4
    max_word_repeats: int = 3
    """A single word may appear this many times in a row; one more and the segment is dropped."""
    max_phrase_repeats: int = 2
    """A 2- to 4-word phrase may appear this many times in a row; one more and the segment is dropped."""
    repeated_segment_min_words: int = 3

    def as_dict(self) -> dict[str, float | int]:
        """The thresholds, for the transcript's settings."""
        return asdict(self)


@dataclass(frozen=True)
class Dropped:
    """A segment the guards removed, and why."""

    segment: RawSegment
    reason: str


def words_of(text: str) -> list[str]:
    """Lower-case words without punctuation: the unit the repetition guards count."""
    return _WORD.findall(text.lower())


def longest_run(words: list[str], n: int) -> int:
    """How many times in a row the most repeated ``n``-word phrase occurs in ``words``."""
    best = 1 if len(words) >= n else 0
    for start in range(len(words) - n + 1):
        phrase = words[start:start + n]
        count = 1
        position = start + n
        while words[position:position + n] == phrase:
            count += 1
            position += n
        best = max(best, count)
    return best


def drop_reason(segment: RawSegment, options: GuardOptions) -> str | None:
    """Why this segment on its own must be dropped, or None to keep it."""
    if segment.no_speech_prob > options.no_speech_prob and segment.avg_logprob < options.avg_logprob:
        return "no_speech"
    if segment.compression_ratio > options.compression_ratio:
        return "compression_ratio"
    words = words_of(segment.text)
    if longest_run(words, 1) > options.max_word_repeats:
        return "repeated_ngram"
    if any(longest_run(words, n) > options.max_phrase_repeats for n in (2, 3, 4)):
        return "repeated_ngram"
    return None


def guard_segments(segments: Iterable[RawSegment],
                   options: GuardOptions | None = None) -> tuple[list[RawSegment], list[Dropped]]:
    """Split one channel's segments (in time order) into those kept and those dropped, with reasons."""
    options = options or GuardOptions()
    kept: list[RawSegment] = []
    dropped: list[Dropped] = []
    previous: list[str] | None = None
    run = 0
    for segment in segments:
        words = words_of(segment.text)
        if not words:
            dropped.append(Dropped(segment, "empty"))
            continue
        reason = drop_reason(segment, options)
        if reason is None and words == previous:
            run += 1
            if len(words) >= options.repeated_segment_min_words or run >= 3:
                reason = "repeated_segment"
        if reason is not None:
            dropped.append(Dropped(segment, reason))
            continue
        if words != previous:
            run = 1
        previous = words
        kept.append(segment)
    return kept, dropped
