"""What participants read in the invitation and the reminders (sent as Prolific messages).

Times are given in UTC and say so: Prolific does not tell us the participant's time zone. The study's
title is not named (participant pages call it "our research study" too).
"""

from __future__ import annotations

from datetime import datetime

from survey.scheduling.timeline import Window


def _when(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M} UTC"


def invitation(window: Window, link: str) -> str:
    """The invitation to a later wave, with the study's Prolific link and the closing time."""
    return (
        f"Hello, and thank you again for taking part in our research study. Part {window.wave} is now open to "
        f"you: the same questions, money games and scenarios as last time, without the interview. "
        f"You can take it on Prolific here: {link}\n\n"
        f"It stays open until {_when(window.closes_at)}. You are free not to take part."
    )


def reminder(window: Window, link: str, number: int) -> str:
    """Reminder ``number`` for a later wave that the participant has not completed yet."""
    return (
        f"A reminder: part {window.wave} of our research study is open to you on Prolific until "
        f"{_when(window.closes_at)}: {link}\n\n"
        f"If you have already started, you will continue where you left off. If you have already finished, "
        f"please ignore this message."
    )
