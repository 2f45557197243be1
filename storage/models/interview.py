"""Interviews, their turns and checkpoints, recordings (in durable chunks) and transcripts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, utcnow
from storage.states import InterviewStatus, RecordingStatus, TranscriptionStatus, one_of

if TYPE_CHECKING:
    from storage.models.study import Visit


class Interview(Base):
    """One interview; ``checkpoint`` holds the conductor's position so it can resume."""

    __tablename__ = "interviews"
    __table_args__ = (one_of("status", InterviewStatus), one_of("transcription_status", TranscriptionStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16), default="voice")
    guide_id: Mapped[str] = mapped_column(String(64))
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), default=InterviewStatus.PENDING)
    checkpoint: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    transcription_status: Mapped[str] = mapped_column(String(24), default=TranscriptionStatus.NOT_STARTED)
    transcription_error: Mapped[str | None] = mapped_column(Text)
    # The transcription job's lease: who holds it, until when, how often it was claimed, how far it got.
    transcription_claimed_by: Mapped[str | None] = mapped_column(String(120))
    transcription_claimed_until: Mapped[datetime | None]
    transcription_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    transcription_progress: Mapped[float] = mapped_column(default=0.0, server_default="0")
    qa_flags: Mapped[list[Any]] = mapped_column(default=list)
    # Provenance: what conducted the interview (null on interviews from before these were recorded).
    llm_model: Mapped[str | None] = mapped_column(String(120))
    llm_endpoint: Mapped[str | None] = mapped_column(String(24))
    prompt_version: Mapped[str | None] = mapped_column(String(40))
    safety_classifier_version: Mapped[str | None] = mapped_column(String(40))
    # The voice page's controls and presence: paused since when (the Pause button, or no participant
    # connected), seconds paused in all, and the last interviewer turn heard to its end (a reload
    # does not say it again).
    paused_at: Mapped[datetime | None]
    paused_s: Mapped[float] = mapped_column(default=0.0, server_default="0")
    heard_seq: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    visit: Mapped[Visit | None] = relationship(back_populates="interviews")
    turns: Mapped[list[Turn]] = relationship(back_populates="interview", order_by="Turn.seq")
    recordings: Mapped[list[Recording]] = relationship(back_populates="interview")
    transcripts: Mapped[list[Transcript]] = relationship(back_populates="interview")


class SafetyEvent(Base):
    """A distress or self-harm signal heard during an interview, waiting for (or given) staff review."""

    __tablename__ = "safety_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    turn_seq: Mapped[int]
    question_id: Mapped[str | None] = mapped_column(String(64))
    signal: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    review_note: Mapped[str | None] = mapped_column(Text)

    interview: Mapped[Interview] = relationship()


class Turn(Base):
    """One utterance; ``start_s``/``end_s`` are seconds on the interview's own timeline."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("interview_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    seq: Mapped[int]
    speaker: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    question_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    start_s: Mapped[float]
    end_s: Mapped[float]
    llm_latency_ms: Mapped[float | None]
    response_latency_ms: Mapped[float | None]
    protocol_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    interview: Mapped[Interview] = relationship(back_populates="turns")


class Recording(Base):
    """One audio channel (participant or interviewer) of an interview, stored as chunks."""

    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("interview_id", "channel"), one_of("status", RecordingStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    sample_rate: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=RecordingStatus.RECORDING)
    duration_s: Mapped[float] = mapped_column(default=0.0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # The Opus-in-Ogg archival and listening copy the archive task writes after transcription (deploy/README.md: when
    # the WAV chunks may go).
    archive_sha256: Mapped[str | None] = mapped_column(String(64))
    # Set when the retention sweep deleted the WAV chunks (interviewer.transcription.retention): from then
    # on the Opus copy is the recording, for listening and for re-transcription.
    wav_purged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    interview: Mapped[Interview] = relationship(back_populates="recordings")
    chunks: Mapped[list[RecordingChunk]] = relationship(
        back_populates="recording", order_by="RecordingChunk.index"
    )


class RecordingChunk(Base):
    """A few seconds of one channel, committed as soon as it is written to the blob store."""

    __tablename__ = "recording_chunks"
    __table_args__ = (UniqueConstraint("recording_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    index: Mapped[int]
    start_s: Mapped[float]
    duration_s: Mapped[float]
    blob_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recording: Mapped[Recording] = relationship(back_populates="chunks")


class Transcript(Base):
    """A transcript of a whole interview: the live pass or an offline Whisper pass."""

    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("interview_id", "source", "settings_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(120))
    model_version: Mapped[str] = mapped_column(String(40))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings_hash: Mapped[str] = mapped_column(String(64))
    segments: Mapped[list[Any]] = mapped_column(default=list)
    text: Mapped[str] = mapped_column(Text)
    participant_words: Mapped[int] = mapped_column(default=0)
    wer_vs_live: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    interview: Mapped[Interview] = relationship(back_populates="transcripts")
