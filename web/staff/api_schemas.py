"""Output schemas of the staff JSON API (``/api/staff/``); built from the read models, never from ORM rows."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class StageOut(BaseModel):
    """One funnel stage: how many participants reached it in a wave."""

    wave: int
    stage: str
    participants: int


class QuotaCellOut(BaseModel):
    """One quota cell's fill against its target."""

    stratum: str
    cell: str
    filled: int
    target: int


class DayOut(BaseModel):
    """Wave-1 entries on one day (UTC)."""

    day: date
    entries: int


class OverviewOut(BaseModel):
    """What the overview page shows, as data."""

    funnel: list[StageOut]
    completion_rate: float | None
    entries_per_day: list[DayOut]
    median_seconds_per_step: dict[str, float]
    at_step: dict[str, dict[str, int]]
    quota: list[QuotaCellOut]
    withdrawn: int
    screened_out: int


class LiveInterviewOut(BaseModel):
    """One interview in progress or abandoned."""

    interview_id: int
    pseudonym: str | None
    status: str
    elapsed_s: float
    budget_s: int
    module: str | None
    question: str | None
    last_response_latency_ms: float | None
    seconds_since_last_turn: float
    connection: str
    safety: dict[str, int]
    """Safety events (``safety_events`` rows) per signal."""
    safety_unreviewed: int
    """How many of them await staff review."""
    abandoned: bool


class TurnOut(BaseModel):
    """One turn of an interview, on the interview's timeline."""

    seq: int
    speaker: str
    kind: str
    question_id: str | None
    text: str
    start_s: float
    end_s: float


class InterviewOut(BaseModel):
    """An interview with its turns and the URLs of its recordings' audio."""

    interview_id: int
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    transcription_status: str
    audio: dict[str, str]
    wav_purged: dict[str, datetime] = {}
    """Channels whose WAV chunks the retention policy deleted, and when: their audio URL serves the Opus copy."""
    turns: list[TurnOut]


class ParticipantOut(BaseModel):
    """A participant's record (the Prolific id only for roles that may see it)."""

    pseudonym: str
    status: str
    prolific_pid: str | None
    strata: dict[str, str]
    created_at: datetime
    withdrawn_at: datetime | None
    interviews: list[InterviewOut]
    answers: int
    consent_versions: list[str]


class SafetyEventOut(BaseModel):
    """A safety event awaiting review (ids and the classifier's verdict; never the words said)."""

    event_id: int
    interview_id: int
    pseudonym: str
    turn_seq: int
    question_id: str | None
    signal: str
    score: float | None
    source: str
    created_at: datetime
