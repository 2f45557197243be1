"""The audit log records events and the database itself refuses to change or delete them, even to the schema's
owner (the app's own role may not even try: tests/storage/test_app_role.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.models import AuditEvent


def test_record_writes_an_event_when_the_transaction_commits(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        audit.record(session, "staff:lead@example.org", "transcript.read", "interview:7", {"why": "QA"})
    with session_factory() as session:
        [event] = audit.events_for(session, "interview:7")
        assert (event.actor, event.action, event.details) == (
            "staff:lead@example.org", "transcript.read", {"why": "QA"})


def test_an_audit_event_cannot_be_updated(owner_session_factory: sessionmaker[Session]) -> None:
    with owner_session_factory() as session, session.begin():
        audit.record(session, "system:test", "export.create", "export:1")
    with owner_session_factory() as session:
        with pytest.raises(DBAPIError, match="audit_events is append-only"):
            session.execute(update(AuditEvent).values(actor="someone else"))
        session.rollback()
        assert audit.events_for(session, "export:1")[0].actor == "system:test"


def test_an_audit_event_cannot_be_deleted(owner_session_factory: sessionmaker[Session]) -> None:
    with owner_session_factory() as session, session.begin():
        audit.record(session, "system:test", "export.create", "export:1")
    with owner_session_factory() as session:
        with pytest.raises(DBAPIError, match="audit_events is append-only"):
            session.execute(delete(AuditEvent))
        session.rollback()
        assert len(audit.events_for(session, "export:1")) == 1


def test_the_audit_log_cannot_be_truncated_on_postgresql(owner_session_factory: sessionmaker[Session],
                                                         backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with owner_session_factory() as session:
        with pytest.raises(DBAPIError, match="audit_events is append-only"):
            session.execute(text("TRUNCATE audit_events"))
