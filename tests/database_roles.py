"""The PostgreSQL suite runs as the app's role, which owns nothing; the server's admin user owns the schema.

The role is cluster-wide, made once per run; each test database is a copy of a template migrated by the
owner and granted to this role (grants travel with ``CREATE DATABASE ... TEMPLATE``).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from storage import roles
from storage.db import make_engine

APP_ROLE = "voxbank_test_app"


def as_app_role(owner_url: str) -> str:
    """The same database, reached as the app role (trust authentication: no password)."""
    return make_url(owner_url).set(username=APP_ROLE, password=None).render_as_string(hide_password=False)


def ensure_test_app_role(server_url: str) -> None:
    """Create the app role on the test server unless it exists (another run may be making it right now)."""
    engine = make_engine(server_url)
    try:
        roles.ensure_app_role(engine, as_app_role(server_url))
    except DBAPIError:
        if not roles.role_exists(engine, APP_ROLE):
            raise
    finally:
        engine.dispose()


def grant_to_test_app_role(owner_url: str) -> None:
    """Give the app role its row privileges on a migrated database, as the app's own `voxbank db upgrade` does."""
    engine = make_engine(owner_url)
    try:
        roles.grant_app_privileges(engine, APP_ROLE)
    finally:
        engine.dispose()
