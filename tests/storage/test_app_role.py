"""On PostgreSQL the app connects as a role that owns nothing: it cannot change or remove audit rows, turn
off the database's guards, or alter the schema; the owner role runs the migrations (`voxbank db`)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage import audit, roles
from storage import models as m
from storage.db import make_engine


@pytest.fixture(autouse=True)
def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("roles and privileges are PostgreSQL's")


@pytest.fixture
def audited(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session, session.begin():
        return audit.record(session, "system:test", "export.create", "export:1").id


@pytest.mark.parametrize("statement", [
    update(m.AuditEvent).values(actor="someone else"),
    delete(m.AuditEvent),
    text("TRUNCATE audit_events"),
], ids=["update", "delete", "truncate"])
def test_the_app_role_cannot_change_or_remove_audit_rows(session_factory: sessionmaker[Session], audited: int,
                                                         statement: object) -> None:
    with session_factory() as session:
        with pytest.raises(DBAPIError, match="permission denied for table audit_events"):
            session.execute(statement)  # type: ignore[call-overload]
        session.rollback()
        assert session.scalars(select(m.AuditEvent.actor).where(m.AuditEvent.id == audited)).one() == "system:test"


@pytest.mark.parametrize(("statement", "refusal"), [
    ("ALTER TABLE audit_events DISABLE TRIGGER ALL", "must be owner of table audit_events"),
    ("ALTER TABLE consents DISABLE TRIGGER consents_signed_copy_immutable", "must be owner of table consents"),
    ("SET session_replication_role = replica", 'permission denied to set parameter "session_replication_role"'),
    ("DROP TRIGGER audit_events_append_only ON audit_events", "must be owner of (relation|table) audit_events"),
], ids=["disable-audit-triggers", "disable-consent-trigger", "replication-role", "drop-trigger"])
def test_the_app_role_cannot_turn_off_the_append_only_guards(session_factory: sessionmaker[Session],
                                                             statement: str, refusal: str) -> None:
    with session_factory() as session:
        with pytest.raises(DBAPIError, match=refusal):
            session.execute(text(statement))


@pytest.mark.parametrize(("statement", "refusal"), [
    ("ALTER TABLE responses ADD COLUMN smuggled TEXT", "must be owner of table responses"),
    ("ALTER TABLE audit_events OWNER TO CURRENT_USER", "must be owner of table audit_events"),
    ("DROP TABLE page_views", "must be owner of table page_views"),
    ("CREATE TABLE shadow (x INTEGER)", "permission denied for schema public"),
], ids=["alter", "take-ownership", "drop", "create"])
def test_the_app_role_cannot_alter_the_schema(session_factory: sessionmaker[Session], statement: str,
                                              refusal: str) -> None:
    with session_factory() as session:
        with pytest.raises(DBAPIError, match=refusal):
            session.execute(text(statement))


def test_the_app_role_owns_nothing_and_is_no_superuser(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        owned = session.scalars(text("SELECT tablename FROM pg_tables WHERE tableowner = current_user")).all()
        powers = session.execute(text("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
                                      "WHERE rolname = current_user")).one()
    assert owned == []
    assert tuple(powers) == (False, False, False, False)


def test_the_app_role_may_mark_a_consent_withdrawn_but_not_rewrite_it(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        study = m.Study(slug="s", title="S", protocol_version="1", protocol_hash="a" * 64)
        participant = m.Participant(study=study, prolific_pid="p" * 24, pseudonym_id="u-1")
        consent = m.Consent(participant=participant, document_version="1", text="I agree.", text_hash="b" * 64,
                            scopes=["participate"])
        session.add_all([study, participant, consent])
    with session_factory() as session:
        with pytest.raises(DBAPIError, match="permission denied for table consents"):
            session.execute(update(m.Consent).values(text="I agree to everything."))
    with session_factory() as session, session.begin():
        session.execute(update(m.Consent).values(withdrawn_at=m.utcnow()))
    with session_factory() as session:
        assert session.scalars(select(m.Consent.text)).one() == "I agree."


def test_grants_refuse_an_app_role_that_owns_a_table(owner_session_factory: sessionmaker[Session],
                                                     database_owner_url: str, database_url: str) -> None:
    role = roles.role_of(database_url) or ""
    with owner_session_factory() as session, session.begin():
        session.execute(text(f"CREATE TABLE stray (x INTEGER); ALTER TABLE stray OWNER TO {role}"))
    engine = make_engine(database_owner_url)
    try:
        with pytest.raises(roles.RoleError, match=f"role '{role}' owns stray; the schema must belong to the owner"):
            roles.grant_app_privileges(engine, role)
    finally:
        engine.dispose()
