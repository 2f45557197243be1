"""Staff sign-in state: dashboard sessions, API tokens and failed sign-ins (the accounts are ``StaffUser``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class StaffSession(Base):
    """One signed-in browser. The cookie holds a random token; only its sha256 is stored.

    A session ends at ``expires_at``, after ``idle`` seconds without a request (``last_seen_at``),
    when it is signed out (``ended_at``), or when its account is disabled.
    ``csrf_token`` is the secret every form posted in this session must carry.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class StaffApiToken(Base):
    """A bearer token for the JSON API under ``/api/staff/``, acting as its account; only its sha256 is stored."""

    __tablename__ = "staff_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class StaffSigninFailure(Base):
    """One failed sign-in, by the address it came from: too many from one address in a while are refused."""

    __tablename__ = "staff_signin_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
