"""A signed consent's copy cannot be changed or deleted in the database, even by the schema's owner; it can
only be marked withdrawn, once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage import models as m

REFUSAL = "consents are immutable"


@pytest.fixture
def consent_id(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session, session.begin():
        study = m.Study(slug="s", title="S", protocol_version="1", protocol_hash="a" * 64)
        participant = m.Participant(study=study, prolific_pid="p" * 24, pseudonym_id="u-1")
        consent = m.Consent(participant=participant, document_version="1", text="I agree.", text_hash="b" * 64,
                            scopes=["participate"])
        session.add_all([study, participant, consent])
        session.flush()
        return consent.id


@pytest.mark.parametrize("change", [
    {"text": "I agree to everything."},
    {"text_hash": "c" * 64},
    {"scopes": ["participate", "share_transcript_open"]},
    {"document_version": "2"},
    {"signed_at": datetime(2020, 1, 1, tzinfo=UTC)},
])
def test_the_signed_copy_cannot_be_changed(owner_session_factory: sessionmaker[Session], consent_id: int,
                                           change: dict[str, object]) -> None:
    with owner_session_factory() as session:
        with pytest.raises(DBAPIError, match=REFUSAL):
            session.execute(update(m.Consent).where(m.Consent.id == consent_id).values(**change))
            session.commit()


def test_a_consent_cannot_be_deleted(owner_session_factory: sessionmaker[Session], consent_id: int) -> None:
    with owner_session_factory() as session:
        with pytest.raises(DBAPIError, match=REFUSAL):
            session.execute(delete(m.Consent).where(m.Consent.id == consent_id))
            session.commit()


def test_withdrawal_is_recorded_once(session_factory: sessionmaker[Session], consent_id: int) -> None:
    first = datetime(2026, 5, 1, tzinfo=UTC)
    with session_factory() as session, session.begin():
        session.execute(update(m.Consent).where(m.Consent.id == consent_id).values(withdrawn_at=first))
    with session_factory() as session:
        with pytest.raises(DBAPIError, match=REFUSAL):
            session.execute(update(m.Consent).where(m.Consent.id == consent_id)
                            .values(withdrawn_at=datetime(2026, 6, 1, tzinfo=UTC)))
            session.commit()
    with session_factory() as session:
        assert session.scalars(select(m.Consent.withdrawn_at)).one() == first
