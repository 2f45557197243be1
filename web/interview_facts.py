"""What the participant pages say about the interview, from the study's interview guide.

The interviewer's name is the guide's ``interviewer_name``; the length is the guide's time budget
(the sum of its questions' ``seconds``), said the way a person would ("about two hours").
"""

from __future__ import annotations

from survey.journey import Journey

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def spoken_duration(seconds: int) -> str:
    """A time budget as a person would say it: "about 5 minutes", "about an hour and a half", "about two hours"."""
    minutes = round(seconds / 60)
    if minutes < 55:
        return f"about {max(5, 5 * round(minutes / 5))} minutes"
    halves = round(seconds / 1800)
    hours, half = divmod(halves, 2)
    if hours == 1:
        return "about an hour and a half" if half else "about an hour"
    count = NUMBER_WORDS[hours] if hours < len(NUMBER_WORDS) else str(hours)
    return f"about {count} and a half hours" if half else f"about {count} hours"


def interview_facts(journey: Journey) -> dict[str, str]:
    """{"interviewer": the interviewer's name, "duration": how long it takes} for the study's guide;
    neutral words when the study has no interview guide."""
    guide = journey.runtime.protocol.interview_guide
    if guide is None:
        return {"interviewer": "the interviewer", "duration": "a while"}
    return {"interviewer": guide.interviewer_name, "duration": spoken_duration(guide.total_seconds)}
