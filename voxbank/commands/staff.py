"""``voxbank staff``: staff accounts for the dashboard: add, list, disable, reset a password, TOTP, API tokens.

Every change names the admin who makes it (``--by``), checked to be an enabled admin account and
written to the audit log. The one exception is the very first account, made while no enabled admin
exists: it must be an admin, and the audit log records it as made by ``system:cli-bootstrap``.
Passwords are prompted for (hidden, twice), or read from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

app = typer.Typer(help="Staff accounts for the dashboard: add, list, disable, reset a password.",
                  no_args_is_help=True)
BOOTSTRAP_ACTOR = "system:cli-bootstrap"

By = Annotated[str | None, typer.Option("--by", help="the email of the enabled admin making this change")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")]


@contextmanager
def _session() -> Iterator[Session]:
    from storage.db import make_engine, make_session_factory, transaction
    from voxbank.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _admin_actor(session: Session, by: str | None) -> str:
    """The acting admin's audit name; exits when ``--by`` is missing or names no enabled admin."""
    from web.staff.accounts import AccountError, actor_of, enabled_account
    from web.staff.roles import Role

    if by is None:
        raise _fail("--by: name the enabled admin making this change (voxbank staff list shows them)", 2)
    try:
        admin = enabled_account(session, by)
    except AccountError as error:
        raise _fail(f"--by: {error}", 2) from None
    if admin.role != Role.ADMIN:
        raise _fail(f"--by: {admin.email} is a {admin.role}, not an admin", 2)
    return actor_of(admin)


def _admins(session: Session) -> int:
    from storage.models import StaffUser

    return int(session.scalar(select(func.count()).select_from(StaffUser).where(
        StaffUser.role == "admin", StaffUser.active.is_(True))) or 0)


@app.command("add")
def add(email: Annotated[str, typer.Argument(help="the new account's email")],
        role: Annotated[str, typer.Option("--role", help="viewer, researcher, operator or admin")],
        by: By = None, password_stdin: PasswordStdin = False) -> None:
    """Add a staff account (the first one, while no admin exists, must be an admin)."""
    from web.staff.accounts import AccountError
    from web.staff.accounts import add as add_account

    with _session() as session:
        if _admins(session) == 0:
            if role != "admin":
                raise _fail("there is no admin yet: the first account must be an admin (--role admin)", 2)
            actor = BOOTSTRAP_ACTOR
        else:
            actor = _admin_actor(session, by)
        password = _password(password_stdin)
        try:
            user = add_account(session, email, role, password, actor=actor)
        except AccountError as error:
            raise _fail(f"not added: {error}") from None
        typer.echo(f"added {user.email} as {user.role}")


@app.command("list")
def list_staff() -> None:
    """List staff accounts: email, role, state, last sign-in, second factor."""
    from web.staff.accounts import list_accounts

    with _session() as session:
        rows = list_accounts(session)
        if not rows:
            typer.echo("no staff accounts yet; add the first admin with: voxbank staff add EMAIL --role admin")
            return
        width = max(len(u.email) for u in rows)
        for user in rows:
            state = "enabled" if user.active else "disabled"
            last = f"{user.last_signin_at:%Y-%m-%d %H:%M}" if user.last_signin_at else "never"
            typer.echo(f"{user.email:{width}}  {user.role:10}  {state:8}  last sign-in {last}"
                       f"{'  totp' if user.totp_secret else ''}")


@app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="the account to disable")], by: By = None) -> None:
    """Disable an account: its sessions end and its API tokens stop working at once."""
    from web.staff.accounts import AccountError
    from web.staff.accounts import disable as disable_account

    with _session() as session:
        actor = _admin_actor(session, by)
        try:
            user = disable_account(session, email, actor=actor)
        except AccountError as error:
            raise _fail(f"not disabled: {error}") from None
        typer.echo(f"disabled {user.email}")


@app.command("reset-password")
def reset_password(email: Annotated[str, typer.Argument(help="the account whose password is reset")],
                   by: By = None, password_stdin: PasswordStdin = False) -> None:
    """Set a new password for an account (an admin's reset): its sessions end, its lockout is lifted."""
    from web.staff.accounts import AccountError
    from web.staff.accounts import reset_password as reset

    with _session() as session:
        actor = _admin_actor(session, by)
        password = _password(password_stdin)
        try:
            user = reset(session, email, password, actor=actor)
        except AccountError as error:
            raise _fail(f"not reset: {error}") from None
        typer.echo(f"new password set for {user.email}")


@app.command("totp")
def totp(email: Annotated[str, typer.Argument(help="the account that gets a second factor")], by: By = None) -> None:
    """Give an account a TOTP second factor; prints the otpauth:// URI to add to an authenticator app."""
    from web.staff.accounts import AccountError, enrol_totp

    with _session() as session:
        actor = _admin_actor(session, by)
        try:
            user, uri = enrol_totp(session, email, actor=actor)
        except AccountError as error:
            raise _fail(f"not enrolled: {error}") from None
        typer.echo(f"{user.email} now signs in with a code; add this to the authenticator app:\n{uri}")


@app.command("token")
def token(email: Annotated[str, typer.Argument(help="the account the token acts as")],
          name: Annotated[str, typer.Option("--name", help="what the token is for, e.g. 'weekly report'")],
          by: By = None) -> None:
    """Create an API token for /api/staff/ acting as an account; it is printed once."""
    from web.staff.accounts import AccountError, enabled_account
    from web.staff.sessions import create_api_token

    with _session() as session:
        actor = _admin_actor(session, by)
        try:
            user = enabled_account(session, email)
        except AccountError as error:
            raise _fail(f"no token: {error}") from None
        typer.echo(create_api_token(session, user, name, actor=actor))
