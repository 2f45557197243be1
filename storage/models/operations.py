"""Running the study: scheduled actions, staff accounts, the audit log and exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow
from storage.states import ActionStatus, one_of


class ScheduledAction(Base):
    """A future action (invitation, reminder, window close) as a row; sent once when due."""

    __tablename__ = "scheduled_actions"
    __table_args__ = (one_of("status", ActionStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffUser(Base):
    """A member of the study team who signs in to the dashboard; ``role`` decides what they may do."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sign-in protection (web/staff/accounts.py): consecutive failures lock the account for a while.
    failed_signins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    last_signin_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # A base32 TOTP secret: when set, signing in also needs the authenticator app's current code.
    totp_secret: Mapped[str | None] = mapped_column(String(64))


class AuditEvent(Base):
    """One append-only audit record: who did what to which target. Never updated or deleted."""

    __tablename__ = "audit_events"
    # "Everything done to this target" (audit reads, webhook de-duplication) must not scan the log.
    __table_args__ = (Index("ix_audit_events_target_action", "target", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Export(Base):
    """An agent-bank export: who made it, which tier, where, and the manifest's hash."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(120))
    tier: Mapped[str] = mapped_column(String(16))
    out_path: Mapped[str] = mapped_column(Text)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    participant_count: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExportParticipant(Base):
    """One participant included in one export: what a participant's own page lists (tier, date)."""

    __tablename__ = "export_participants"
    __table_args__ = (UniqueConstraint("export_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
