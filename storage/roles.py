"""PostgreSQL roles: the schema belongs to the owner role, the app connects as a role that owns nothing.

A table's owner (and a superuser) can disable its triggers, ALTER it or TRUNCATE it, so the append-only
guards on ``audit_events`` and ``consents`` hold only against a role that owns nothing. The app role
gets exactly the row privileges it needs: on the append-only tables it may add and read rows (and set a
consent's ``withdrawn_at``), never change or delete them; it reads ``alembic_version`` to check the schema
is current. Grants are per table, so ``grant_app_privileges`` runs again after every migration.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url

ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# Tables the app may only add to and read (the database's triggers also guard them against the owner).
APPEND_ONLY_PRIVILEGES = {
    "audit_events": "SELECT, INSERT",
    "consents": "SELECT, INSERT, UPDATE (withdrawn_at)",
    "alembic_version": "SELECT",
}


class RoleError(Exception):
    """The roles cannot be set up as asked; the message names the problem and the fix."""


def role_of(url: str) -> str | None:
    """The role (user name) a database URL connects as."""
    return make_url(url).username


def separates_roles(app_url: str, owner_url: str) -> bool:
    """Whether the app connects to PostgreSQL as a role other than the schema's owner."""
    app, owner = make_url(app_url), make_url(owner_url)
    return app.get_backend_name() == "postgresql" and app.username != owner.username


def role_exists(engine: Engine, role: str) -> bool:
    """Whether a role of that name exists on the server."""
    with engine.connect() as connection:
        found = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
    return found is not None


def ensure_app_role(owner: Engine, app_url: str) -> bool:
    """Create the app role named in ``app_url`` (with its password) if missing; True if it was created.

    An existing role keeps its password unless ``app_url`` gives one, which replaces it.
    """
    url = make_url(app_url)
    role, password = url.username, url.password
    if not role:
        raise RoleError("the app's database URL names no user; give it one, e.g. postgresql+psycopg://voxbank_app:…@host/db")
    with owner.begin() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
        quoted = _quoted(connection, role)
        if exists is None:
            connection.execute(text(f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"))
        if password:
            literal = connection.execute(text("SELECT quote_literal(:p)"), {"p": str(password)}).scalar_one()
            connection.execute(text(f"ALTER ROLE {quoted} PASSWORD {literal}"))
    return exists is None


def grant_app_privileges(owner: Engine, role: str) -> list[str]:
    """Give ``role`` the row privileges the app needs on every table and sequence, and nothing else.

    Returns the tables granted. Run as the schema's owner, after each migration.
    """
    with owner.begin() as connection:
        quoted = _quoted(connection, role)
        database = _quoted(connection, connection.execute(text("SELECT current_database()")).scalar_one())
        _refuse_a_powerful_role(connection, role)
        connection.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        connection.execute(text(f"REVOKE ALL ON SCHEMA public FROM {quoted}"))
        connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
        connection.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {quoted}"))
        tables = sorted(inspect(connection).get_table_names(schema="public"))
        for table in tables:
            name = _quoted(connection, table)
            connection.execute(text(f"REVOKE ALL ON TABLE {name} FROM {quoted}"))
            connection.execute(text(f"GRANT {APPEND_ONLY_PRIVILEGES.get(table, ROW_PRIVILEGES)} ON TABLE {name} "
                                    f"TO {quoted}"))
        connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    return tables


def _refuse_a_powerful_role(connection: Connection, role: str) -> None:
    """The guards mean nothing if the app role is a superuser or owns a table: say so, with the fix."""
    powers = connection.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :role"),
                                {"role": role}).first()
    if powers is None:
        raise RoleError(f"role {role!r} does not exist; run: voxbank db roles")
    if powers.rolsuper:
        raise RoleError(f"role {role!r} is a superuser, so it could disable the audit log's triggers; "
                        "the app needs a role of its own (ALTER ROLE ... NOSUPERUSER, or another user in "
                        "VOXBANK_DATABASE_URL)")
    owned = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                    "AND tableowner = :role"), {"role": role}).scalars().all()
    if owned:
        raise RoleError(f"role {role!r} owns {', '.join(sorted(owned))}; the schema must belong to the owner role "
                        f"(ALTER TABLE ... OWNER TO the user of VOXBANK_DATABASE_OWNER_URL)")


def _quoted(connection: Connection, identifier: str) -> str:
    return str(connection.execute(text("SELECT quote_ident(:name)"), {"name": identifier}).scalar_one())
