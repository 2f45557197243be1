"""Quality flags an offline transcription raises on its interview (``Interview.qa_flags``).

Each flag is ``{"flag": name, "detail": sentence}``; the detail holds counts and times, never words.
The flags and why each threshold is where it is:

* ``few_participant_words``: Park et al. (2024) report 6,491 participant words per two-hour
  interview (sd 2,541) on a guide whose time allotments sum to 7,130 s. Two standard deviations
  under the mean is 1,409 words (about the lowest 2.5 % if counts were normal), so fewer words than
  that, scaled by this guide's budget over 7,130 s, means the interview is too thin to build an agent
  from. Without a known budget the unscaled 1,409 applies.
* ``long_silence``: neither channel has speech for more than 30 s. Park et al.'s interviewer ended a
  participant's turn after 4 s of silence and answered within about 4 s, so 30 s of shared silence is
  a dropped connection, a participant who left, or a recording fault.
* ``low_confidence``: more than 25 % of the transcribed speech time lies in segments whose mean token
  log-probability is under -1.0 (Whisper's own "unsure" bound): noisy audio, another language, or a
  bad microphone, worth a listen before the transcript is used.
* ``missing_channel``: an interviewer or participant recording is absent or has no chunks.
* ``silent_channel``: a channel that exists but never rises above -60 dBFS, or in which Whisper finds
  no speech at all: a muted or disconnected microphone.
* ``short_interview``: the recording lasts under half of the guide's time budget.

Flags raised by other parts of voxbank are left as they are; a re-run replaces only these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from interviewer.transcription.merge import CHANNELS

PARK_PARTICIPANT_WORDS_MEAN = 6491
PARK_PARTICIPANT_WORDS_SD = 2541
PARK_GUIDE_SECONDS = 7130
FEW_WORDS_THRESHOLD = PARK_PARTICIPANT_WORDS_MEAN - 2 * PARK_PARTICIPANT_WORDS_SD  # 1,409 words
LONG_SILENCE_S = 30.0
LOW_CONFIDENCE_LOGPROB = -1.0
LOW_CONFIDENCE_SHARE = 0.25
SHORT_INTERVIEW_SHARE = 0.5

FLAG_NAMES = frozenset({"few_participant_words", "long_silence", "low_confidence", "missing_channel",
                        "silent_channel", "short_interview", "corrupt_chunk"})
"""The flags this module owns; a re-run replaces exactly these."""


@dataclass(frozen=True)
class ChannelReport:
    """What the QA rules need to know about one channel."""

    present: bool
    silent: bool = False
    segment_count: int = 0


def few_words_threshold(budget_s: int | None) -> int:
    """The participant word count under which an interview is flagged, for a guide of ``budget_s``."""
    if not budget_s:
        return FEW_WORDS_THRESHOLD
    return round(FEW_WORDS_THRESHOLD * budget_s / PARK_GUIDE_SECONDS)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def silences(segments: Sequence[Mapping[str, Any]], duration_s: float, longer_than: float) -> list[tuple[float, float]]:
    """Stretches (start, length) where no segment of any speaker is running, longer than ``longer_than``."""
    found = []
    covered_until = 0.0
    for segment in sorted(segments, key=lambda s: s["start"]):
        if segment["start"] - covered_until > longer_than:
            found.append((covered_until, segment["start"] - covered_until))
        covered_until = max(covered_until, segment["end"])
    if segments and duration_s - covered_until > longer_than:
        found.append((covered_until, duration_s - covered_until))
    return found


def qa_flags(*, segments: Sequence[Mapping[str, Any]], channels: Mapping[str, ChannelReport],
             duration_s: float, participant_words: int, budget_s: int | None) -> list[dict[str, str]]:
    """The QA flags for one transcribed interview, in a fixed order."""
    flags: list[dict[str, str]] = []

    def flag(name: str, detail: str) -> None:
        flags.append({"flag": name, "detail": detail})

    for channel in CHANNELS:
        report = channels.get(channel, ChannelReport(present=False))
        if not report.present:
            flag("missing_channel", f"no {channel} recording with audio")
        elif report.silent or report.segment_count == 0:
            flag("silent_channel", f"the {channel} channel holds no speech")

    threshold = few_words_threshold(budget_s)
    if participant_words < threshold:
        flag("few_participant_words",
             f"{participant_words} participant words, under {threshold} (Park et al. mean 6491 - 2 sd"
             + (f", scaled to a {budget_s} s guide)" if budget_s else ")"))

    gaps = silences(segments, duration_s, LONG_SILENCE_S)
    if gaps:
        start, length = max(gaps, key=lambda gap: gap[1])
        flag("long_silence", f"{len(gaps)} silence(s) over {LONG_SILENCE_S:.0f} s; longest {length:.1f} s "
                             f"at {_clock(start)}")

    speech = sum(s["end"] - s["start"] for s in segments)
    unsure = sum(s["end"] - s["start"] for s in segments if s["avg_logprob"] < LOW_CONFIDENCE_LOGPROB)
    if speech > 0 and unsure / speech > LOW_CONFIDENCE_SHARE:
        flag("low_confidence", f"{unsure / speech:.0%} of speech time is in low-confidence segments "
                               f"(mean log-probability under {LOW_CONFIDENCE_LOGPROB})")

    if budget_s and duration_s < SHORT_INTERVIEW_SHARE * budget_s:
        flag("short_interview", f"recording lasts {duration_s / 60:.1f} min, under half of the guide's "
                                f"{budget_s / 60:.0f} min budget")
    return flags


def replace_flags(existing: Iterable[Mapping[str, Any]], new: Iterable[dict[str, str]]) -> list[dict[str, Any]]:
    """The interview's flags with this module's replaced by ``new`` and every other flag kept."""
    kept = [dict(item) for item in existing if item.get("flag") not in FLAG_NAMES]
    return kept + list(new)


def corrupt_chunk_flags(skipped: Iterable[Any]) -> list[dict[str, str]]:
    """One ``corrupt_chunk`` flag per chunk the transcription skipped, naming its channel and time range."""
    return [{"flag": "corrupt_chunk",
             "detail": f"chunk {c.index} of the {c.channel} channel, {_clock(c.start_s)}-{_clock(c.end_s)}, "
                       f"could not be read and was skipped: {c.reason}"} for c in skipped]
