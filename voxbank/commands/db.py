"""``voxbank db``: create and migrate the database schema, as its owner, and the app's role."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from storage import migrate, roles
from storage.db import make_engine
from voxbank.commands.errors import CommandFailed, UsageError
from voxbank.settings import Settings, get_settings
from voxbank.wiring import database_engine

app = typer.Typer(help="Create and migrate the database schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Create the schema or bring it up to date, as the owner role (safe to run again).

    With a separate app role (VOXBANK_DATABASE_OWNER_URL set), the app role is created if missing and
    given its row privileges on every table, new ones included.
    """
    settings = get_settings()
    url = settings.resolved_database_owner_url
    migrate.upgrade(url, revision)
    engine = make_engine(url)
    try:
        typer.echo(f"database {engine.url.render_as_string(hide_password=True)} is at revision "
                   f"{migrate.current_revision(engine)}")
        if roles.separates_roles(settings.resolved_database_url, url):
            _set_up_app_role(settings, engine)
    finally:
        engine.dispose()


@app.command("roles")
def roles_command() -> None:
    """Create the app role (the user of VOXBANK_DATABASE_URL) and grant it only the row privileges it needs.

    Runs as VOXBANK_DATABASE_OWNER_URL's role, which owns the schema; the app role owns nothing, so it
    cannot alter tables, disable the audit log's triggers or change audit and consent rows.
    """
    settings = get_settings()
    if not roles.separates_roles(settings.resolved_database_url, settings.resolved_database_owner_url):
        raise UsageError("voxbank db roles needs PostgreSQL and two roles: VOXBANK_DATABASE_OWNER_URL (the schema's "
                         "owner) and VOXBANK_DATABASE_URL (the app, a different user)")
    engine = make_engine(settings.resolved_database_owner_url)
    try:
        _set_up_app_role(settings, engine)
    finally:
        engine.dispose()


def _set_up_app_role(settings: Settings, owner_engine: Engine) -> None:
    role = roles.role_of(settings.resolved_database_url) or ""
    try:
        created = roles.ensure_app_role(owner_engine, settings.resolved_database_url)
        tables = roles.grant_app_privileges(owner_engine, role)
    except roles.RoleError as error:
        raise CommandFailed(str(error)) from None
    typer.echo(f"app role {role} {'created' if created else 'exists'}; row privileges on {len(tables)} tables "
               f"(audit_events and consents: add and read only)")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="target revision; 'base' removes every table")) -> None:
    """Take the schema back to an earlier revision (as the owner role)."""
    migrate.downgrade(get_settings().resolved_database_owner_url, revision)
    typer.echo(f"downgraded to {revision}")


@app.command()
def current() -> None:
    """Print the schema revision the database is at."""
    engine = database_engine(get_settings())
    typer.echo(migrate.current_revision(engine) or "empty (run: voxbank db upgrade)")
    engine.dispose()
