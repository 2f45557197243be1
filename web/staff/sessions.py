"""Staff sessions: a random token in an HttpOnly cookie, a row per session in the database.

The row, not the cookie, decides: a session ends after ``max_age_s`` from sign-in, after ``idle_s``
without a request, at sign-out, and at once when its account is disabled or its password reset.
The cookie is SameSite=Strict, HttpOnly, scoped to the whole site (pages and API), and Secure in
production. API tokens (``/api/staff/``) are looked up the same way, by the sha256 of the token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.models import StaffApiToken, StaffSession, StaffUser, utcnow

COOKIE = "voxbank_staff"
SIGNIN_COOKIE = "voxbank_staff_signin"
SEEN_RESOLUTION_S = 60
"""``last_seen_at`` is written at most once a minute per session (a page load should not always write)."""


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last and how their cookie is set (from settings)."""

    max_age_s: int = 43200
    idle_s: int = 3600
    secure_cookie: bool = False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: StaffUser, policy: SessionPolicy,
                 now: datetime | None = None) -> tuple[str, StaffSession]:
    """Start a session for ``user``; returns the cookie's token (never stored) and the row."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_sha256=_digest(token), staff_user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                       created_at=now, last_seen_at=now, expires_at=now + timedelta(seconds=policy.max_age_s))
    session.add(row)
    session.flush()
    return token, row


def load_session(session: Session, token: str | None, policy: SessionPolicy,
                 now: datetime | None = None) -> tuple[StaffSession, StaffUser] | None:
    """The live session and enabled account a cookie names, or None (expired, idle, ended, disabled, forged)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    found = session.execute(select(StaffSession, StaffUser).join(StaffUser, StaffSession.staff_user_id == StaffUser.id)
                            .where(StaffSession.token_sha256 == _digest(token))).first()
    if found is None:
        return None
    row, user = found
    if (row.ended_at is not None or row.expires_at <= now or not user.active
            or row.last_seen_at + timedelta(seconds=policy.idle_s) <= now):
        return None
    if (now - row.last_seen_at).total_seconds() >= SEEN_RESOLUTION_S:
        row.last_seen_at = now
        session.commit()
    return row, user


def end_session(session: Session, row: StaffSession, user: StaffUser) -> None:
    """Sign out: the session ends now (the caller commits)."""
    row.ended_at = utcnow()
    session.flush()
    audit.record(session, f"staff:{user.email}", "staff.sign_out", f"staff:{user.id}", {})


def set_cookie(response: Response, token: str, policy: SessionPolicy) -> None:
    """Put the session token on the response as the staff cookie."""
    response.set_cookie(COOKIE, token, max_age=policy.max_age_s, path="/", httponly=True, samesite="strict",
                        secure=policy.secure_cookie)


def clear_cookie(response: Response, policy: SessionPolicy) -> None:
    """Remove the staff cookie from the browser."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=policy.secure_cookie)


def create_api_token(session: Session, user: StaffUser, name: str, *, actor: str) -> str:
    """A new API token for ``user`` (shown once; only its sha256 is kept)."""
    token = "vbk_" + secrets.token_urlsafe(32)
    row = StaffApiToken(token_sha256=_digest(token), staff_user_id=user.id, name=name[:120])
    session.add(row)
    session.flush()
    audit.record(session, actor, "staff.api_token_create", f"staff:{user.id}", {"token_id": row.id, "name": name})
    return token


def load_api_token(session: Session, token: str, now: datetime | None = None) -> StaffUser | None:
    """The enabled account an unrevoked API token belongs to, or None."""
    if not token.startswith("vbk_") or len(token) > 200:
        return None
    found = session.execute(select(StaffApiToken, StaffUser)
                            .join(StaffUser, StaffApiToken.staff_user_id == StaffUser.id)
                            .where(StaffApiToken.token_sha256 == _digest(token))).first()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or not user.active:
        return None
    now = now or utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= SEEN_RESOLUTION_S:
        row.last_used_at = now
        session.commit()
    return user
