"""The states of every row that moves through a state machine, as StrEnums.

Each enum is the whole set of values its column may hold; the models add a CHECK constraint built
from it (``one_of``), so a misspelt state fails at the database instead of quietly matching nothing.
The members are strings, so comparisons with stored values and with JSON keep working unchanged.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


class ParticipantStatus(StrEnum):
    """``participants.status``: where a person stands in the study."""

    ACTIVE = "active"
    SCREENED_OUT = "screened_out"
    DECLINED = "declined"
    LAPSED = "lapsed"
    """Entered, then never answered within the quota hold: the place was given back."""
    WITHDRAWN = "withdrawn"


class VisitStatus(StrEnum):
    """``visits.status``: one wave's pass through the journey."""

    STARTED = "started"
    COMPLETED = "completed"
    DECLINED = "declined"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"


class InterviewStatus(StrEnum):
    """``interviews.status``: the interview itself (not its transcription)."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    STOPPED = "stopped"
    """The participant asked to stop and confirmed it."""
    LOST = "lost"
    FAILED = "failed"
    ABANDONED = "abandoned"
    WITHDRAWN = "withdrawn"


INTERVIEW_ENDED = (InterviewStatus.COMPLETED, InterviewStatus.STOPPED)
"""Interviews that ended as the guide or the participant meant them to (the journey moves on)."""


class TranscriptionStatus(StrEnum):
    """``interviews.transcription_status``: the offline transcription job (``interviewer.transcription.jobs``)."""

    NOT_STARTED = "not_started"
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


class RecordingStatus(StrEnum):
    """``recordings.status``: one channel's audio as it is written."""

    RECORDING = "recording"
    PAUSED = "paused"
    COMPLETE = "complete"
    DELETED = "deleted"


class ActionStatus(StrEnum):
    """``scheduled_actions.status``: a future message or payment (``survey.scheduling``)."""

    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"


class BonusStatus(StrEnum):
    """``bonuses.status``: a game bonus from computed to paid on Prolific."""

    COMPUTED = "computed"
    SET_UP = "set_up"
    PAID = "paid"
    NONE_DUE = "none_due"


def one_of(column: str, states: type[StrEnum]) -> CheckConstraint:
    """A CHECK constraint, named after ``column``, that allows only the values of ``states``."""
    allowed = ", ".join(f"'{state.value}'" for state in states)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)
