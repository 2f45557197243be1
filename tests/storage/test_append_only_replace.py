"""SQLite's ``INSERT OR REPLACE`` cannot overwrite append-only rows (audit events, signed consents), and
database errors never carry the statement's parameters."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage import models as m


@pytest.fixture
def rows(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_factory() as session, session.begin():
        study = m.Study(slug="s", title="S", protocol_version="1", protocol_hash="a" * 64)
        participant = m.Participant(study=study, prolific_pid="p" * 24, pseudonym_id="u-1")
        consent = m.Consent(participant=participant, document_version="1", text="I agree.", text_hash="b" * 64,
                            scopes=["participate"])
        session.add_all([study, participant, consent])
        session.flush()
        event = audit.record(session, "system:test", "consent.sign", f"consent:{consent.id}", {"version": "1"})
        return event.id, consent.id


def test_insert_or_replace_cannot_overwrite_an_audit_event_or_a_consent(
        backend: str, session_factory: sessionmaker[Session], rows: tuple[int, int]) -> None:
    if backend != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's; PostgreSQL's ON CONFLICT DO UPDATE fires the UPDATE guard")
    event_id, consent_id = rows
    statements = [
        ("INSERT OR REPLACE INTO audit_events (id, at, actor, action, target, details) "
         "VALUES (:id, CURRENT_TIMESTAMP, 'staff:x', 'nothing.happened', 'x', '{}')", event_id),
        ("INSERT OR REPLACE INTO consents (id, participant_id, document_version, text, text_hash, scopes, signed_at) "
         "SELECT :id, participant_id, '1', 'I agree to everything.', text_hash, '[]', signed_at FROM consents "
         "WHERE id = :id", consent_id),
    ]
    for statement, row_id in statements:
        with session_factory() as session:
            with pytest.raises(DBAPIError):
                session.execute(text(statement), {"id": row_id})
                session.commit()
    with session_factory() as session:
        assert session.get(m.AuditEvent, event_id).action == "consent.sign"  # type: ignore[union-attr]
        assert session.get(m.Consent, consent_id).text == "I agree."  # type: ignore[union-attr]


def test_a_database_error_does_not_carry_the_values_it_was_given(session_factory: sessionmaker[Session],
                                                                 rows: tuple[int, int]) -> None:
    with session_factory() as session:
        pseudonym = session.scalars(select(m.Participant.pseudonym_id)).one()
        with pytest.raises(IntegrityError) as raised:
            session.add(m.Participant(study_id=1, prolific_pid="q" * 24, pseudonym_id=pseudonym,
                                      withdrawal_reason="my phone number is 555-0100"))
            session.commit()
    assert "555-0100" not in str(raised.value)
    assert "SQL parameters hidden" in str(raised.value)
