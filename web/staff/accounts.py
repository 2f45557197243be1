"""Staff accounts: add, list, disable, reset a password, and sign in with lockout and rate limit.

Every change is written to the audit log with the acting account (or ``system:cli`` for a first
admin made at the command line). Functions take a session and never commit: the caller does, also
when a sign-in failed, so that the failure counts.

A sign-in is refused, before the password is even checked, when this client address has had
``SigninPolicy.client_limit`` failures within ``lockout_s``, or when the account is locked; an account
locks for ``lockout_s`` after ``max_failures`` failures in a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.models import StaffApiToken, StaffSession, StaffSigninFailure, StaffUser, utcnow
from web.staff.errors import SigninRefused, SigninThrottled
from web.staff.passwords import hash_password, needs_rehash, verify_password
from web.staff.roles import Role, parse_role

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REFUSED = "The email, password or code is not right, or the account is disabled."


class AccountError(ValueError):
    """A staff account cannot be added or changed as asked; the message says why."""


@dataclass(frozen=True)
class SigninPolicy:
    """How sign-ins are throttled (from settings)."""

    max_failures: int = 5
    lockout_s: int = 900
    client_limit: int = 20


def normalise_email(email: str) -> str:
    """The email as stored: trimmed, lower case; AccountError when it is not an address."""
    value = email.strip().lower()
    if not EMAIL_PATTERN.match(value) or len(value) > 254:
        raise AccountError(f"{email!r} is not an email address")
    return value


def actor_of(user: StaffUser) -> str:
    """How a staff account is named in the audit log and on exports."""
    return f"staff:{user.email}"


def find(session: Session, email: str) -> StaffUser | None:
    """The account with this email (enabled or not), or None."""
    return session.scalars(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()


def enabled_account(session: Session, email: str) -> StaffUser:
    """The enabled account with this email (``staff:`` prefix allowed); AccountError otherwise."""
    address = email.removeprefix("staff:")
    user = find(session, address)
    if user is None:
        raise AccountError(f"there is no staff account {address!r}; add one with: voxbank staff add EMAIL --role ROLE")
    if not user.active:
        raise AccountError(f"the staff account {address!r} is disabled")
    return user


def add(session: Session, email: str, role: str, password: str, *, actor: str) -> StaffUser:
    """Create an enabled account; AccountError for a taken email, an unknown role or a weak password."""
    address = normalise_email(email)
    try:
        checked_role = parse_role(role)
        password_hash = hash_password(password)
    except ValueError as error:
        raise AccountError(str(error)) from None
    if find(session, address) is not None:
        raise AccountError(f"a staff account {address!r} exists already")
    user = StaffUser(email=address, password_hash=password_hash, role=checked_role.value, active=True,
                     password_changed_at=utcnow())
    session.add(user)
    session.flush()
    audit.record(session, actor, "staff.add", f"staff:{user.id}", {"role": checked_role.value})
    return user


def list_accounts(session: Session) -> list[StaffUser]:
    """Every account, enabled first, then by email."""
    return list(session.scalars(select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.email)))


def _end_access(session: Session, user: StaffUser, now: datetime) -> None:
    session.execute(update(StaffSession).where(StaffSession.staff_user_id == user.id, StaffSession.ended_at.is_(None))
                    .values(ended_at=now))
    session.execute(update(StaffApiToken).where(StaffApiToken.staff_user_id == user.id,
                                                StaffApiToken.revoked_at.is_(None)).values(revoked_at=now))


def disable(session: Session, email: str, *, actor: str) -> StaffUser:
    """Disable an account: its sessions end and its API tokens are revoked at once."""
    user = find(session, email)
    if user is None:
        raise AccountError(f"there is no staff account {email.strip().lower()!r}")
    if user.active and user.role == Role.ADMIN and _other_admins(session, user) == 0:
        raise AccountError("this is the last enabled admin account; add another admin first")
    user.active = False
    _end_access(session, user, utcnow())
    session.flush()
    audit.record(session, actor, "staff.disable", f"staff:{user.id}", {})
    return user


def _other_admins(session: Session, user: StaffUser) -> int:
    return int(session.scalar(select(func.count()).select_from(StaffUser).where(
        StaffUser.role == Role.ADMIN.value, StaffUser.active.is_(True), StaffUser.id != user.id)) or 0)


def reset_password(session: Session, email: str, password: str, *, actor: str) -> StaffUser:
    """Set a new password (an admin's reset): the lockout is lifted and every session of the account ends."""
    user = find(session, email)
    if user is None:
        raise AccountError(f"there is no staff account {email.strip().lower()!r}")
    try:
        user.password_hash = hash_password(password)
    except ValueError as error:
        raise AccountError(str(error)) from None
    now = utcnow()
    user.password_changed_at = now
    user.failed_signins = 0
    user.locked_until = None
    _end_access(session, user, now)
    session.flush()
    audit.record(session, actor, "staff.password_reset", f"staff:{user.id}", {})
    return user


def enrol_totp(session: Session, email: str, *, actor: str) -> tuple[StaffUser, str]:
    """Give an account a new TOTP secret (its sign-ins then need a code); returns the otpauth:// URI to scan."""
    user = find(session, email)
    if user is None:
        raise AccountError(f"there is no staff account {email.strip().lower()!r}")
    user.totp_secret = pyotp.random_base32()
    session.flush()
    audit.record(session, actor, "staff.totp_enrol", f"staff:{user.id}", {})
    return user, pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name="voxbank")


def sign_in(session: Session, email: str, password: str, code: str, *, client: str,
            policy: SigninPolicy, now: datetime | None = None) -> StaffUser:
    """The account these credentials open; SigninRefused or SigninThrottled otherwise (the caller commits)."""
    now = now or utcnow()
    address = email.strip().lower()[:254]
    window_start = now - timedelta(seconds=policy.lockout_s)
    recent = int(session.scalar(select(func.count()).select_from(StaffSigninFailure).where(
        StaffSigninFailure.client == client[:64], StaffSigninFailure.at > window_start)) or 0)
    if recent >= policy.client_limit:
        raise SigninThrottled("Too many failed sign-ins from this address. Please wait a while and try again.")
    user = find(session, address)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        raise SigninThrottled(f"This account is locked after too many failed sign-ins. Try again in {minutes} "
                              "minute(s), or ask an admin to reset the password.")
    password_ok = verify_password(user.password_hash if user else None, password)
    code_ok = user is not None and (user.totp_secret is None
                                    or pyotp.TOTP(user.totp_secret).verify(code.strip(), for_time=now, valid_window=1))
    if user is None or not user.active or not password_ok or not code_ok:
        _fail(session, user, address, client, policy, now)
        raise SigninRefused(REFUSED)
    user.failed_signins = 0
    user.locked_until = None
    user.last_signin_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    audit.record(session, actor_of(user), "staff.sign_in", f"staff:{user.id}", {})
    return user


def _fail(session: Session, user: StaffUser | None, address: str, client: str, policy: SigninPolicy,
          now: datetime) -> None:
    session.add(StaffSigninFailure(client=client[:64], email=address, at=now))
    if user is None:
        session.flush()
        return
    user.failed_signins += 1
    details: dict[str, object] = {"failures": user.failed_signins}
    if user.failed_signins >= policy.max_failures:
        user.locked_until = now + timedelta(seconds=policy.lockout_s)
        user.failed_signins = 0
        details["locked_until"] = user.locked_until.isoformat()
    session.flush()
    audit.record(session, "system:sign-in", "staff.sign_in_failed", f"staff:{user.id}", details)
