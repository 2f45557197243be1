"""`voxbank db upgrade` migrates as the owner role and sets up the app's role, which owns nothing;
`voxbank db roles` does the second part alone."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from storage.db import make_engine


def test_db_upgrade_migrates_as_the_owner_and_creates_the_app_role(run_voxbank, backend: str,
                                                                   empty_database_url: str) -> None:
    if backend != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    role = f"voxbank_app_{uuid.uuid4().hex[:8]}"
    app_url = make_url(empty_database_url).set(username=role, password="app-secret").render_as_string(
        hide_password=False)
    try:
        done = run_voxbank("db", "upgrade", database_url=app_url, database_owner_url=empty_database_url)
        assert done.returncode == 0, done.stderr
        assert f"app role {role} created; row privileges on" in done.stdout
        again = run_voxbank("db", "roles", database_url=app_url, database_owner_url=empty_database_url)
        assert f"app role {role} exists" in again.stdout
        # the test server trusts local connections, so the app role needs no password here
        engine = make_engine(make_url(app_url).set(password=None).render_as_string(hide_password=False))
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO studies (slug, title, protocol_version, protocol_hash, "
                                        "created_at) VALUES ('s', 'S', '1', :h, now())"), {"h": "a" * 64})
                with pytest.raises(DBAPIError, match="permission denied for table audit_events"):
                    connection.execute(text("DELETE FROM audit_events"))
        finally:
            engine.dispose()
    finally:
        owner = make_engine(empty_database_url)
        with owner.begin() as connection:
            connection.execute(text(f"DROP OWNED BY {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
        owner.dispose()


def test_db_roles_needs_two_roles(run_voxbank, database_url: str) -> None:
    done = run_voxbank("db", "roles", database_url=database_url)
    assert done.returncode == 2
    assert "voxbank db roles needs PostgreSQL and two roles" in done.stderr
