"""Studies, participants, their visits (one per wave) and their signed consents."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, utcnow
from storage.states import ParticipantStatus, VisitStatus, one_of

if TYPE_CHECKING:
    from storage.models.interview import Interview


class Study(Base):
    """A study run from one protocol folder (for example the shipped park2024)."""

    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    participants: Mapped[list[Participant]] = relationship(back_populates="study")


class Participant(Base):
    """One person in one study, identified by their Prolific id; never a real name."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("study_id", "prolific_pid"), one_of("status", ParticipantStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    prolific_pid: Mapped[str] = mapped_column(String(64))
    pseudonym_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(24), default=ParticipantStatus.ACTIVE)
    strata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)

    study: Mapped[Study] = relationship(back_populates="participants")
    visits: Mapped[list[Visit]] = relationship(back_populates="participant", order_by="Visit.wave")
    consents: Mapped[list[Consent]] = relationship(back_populates="participant")


class Visit(Base):
    """A participant's pass through one wave (1: interview and batteries; 2: the retest)."""

    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("participant_id", "wave"), one_of("status", VisitStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    wave: Mapped[int]
    prolific_study_id: Mapped[str | None] = mapped_column(String(64))
    prolific_session_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), default=VisitStatus.STARTED)
    current_step: Mapped[str | None] = mapped_column(String(64))
    # Index of the current page in plan["pages"]; only ever advanced by a conditional UPDATE.
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]

    participant: Mapped[Participant] = relationship(back_populates="visits")
    interviews: Mapped[list[Interview]] = relationship(back_populates="visit")


class Consent(Base):
    """A signed consent: the rendered text and its hash, the document version and the scopes given."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    document_version: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    participant: Mapped[Participant] = relationship(back_populates="consents")
