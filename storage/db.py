"""Engine and session construction for SQLite (WAL, foreign keys on) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.files import private_directory, private_file


def make_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine; SQLite files get WAL mode, foreign keys and a busy timeout.

    Statement parameters (answers, transcripts, reasons) never appear in error messages or logs
    (``hide_parameters``), and SQLite fires delete triggers on the implicit delete of
    ``INSERT OR REPLACE`` (``recursive_triggers``), so append-only tables stay append-only.
    """
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = Path(parsed.database) if parsed.database and parsed.database != ":memory:" else None
        if database is not None:
            private_directory(database.parent)
        connect_args = {"timeout": 30, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **kwargs)  # type: ignore[arg-type]
        event.listen(engine, "connect", _configure_sqlite)
        if database is not None:
            # the file (and, created with its mode, the -wal and -shm files) is readable by us alone
            event.listen(engine, "connect", lambda *_: private_file(database))
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)  # type: ignore[arg-type]


def _configure_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a worker writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # REPLACE deletes the old row first; only with recursive triggers does that delete fire the
    # append-only tables' BEFORE DELETE guard (audit_events, consents).
    cursor.execute("PRAGMA recursive_triggers=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
