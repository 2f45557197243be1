"""Every state column holds only its state machine's values: the database refuses a misspelt state."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import models as m
from storage.states import ParticipantStatus


@pytest.fixture
def participant_id(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session, session.begin():
        study = m.Study(slug="s", title="S", protocol_version="1", protocol_hash="a" * 64)
        participant = m.Participant(study=study, prolific_pid="p" * 24, pseudonym_id="u-1")
        session.add_all([study, participant])
        session.flush()
        return participant.id


def test_a_misspelt_state_is_refused_by_the_database(session_factory: sessionmaker[Session],
                                                     participant_id: int) -> None:
    with session_factory() as session, pytest.raises(IntegrityError, match="ck_participants_status"):
        session.execute(update(m.Participant).where(m.Participant.id == participant_id).values(status="withdrawm"))


def test_every_value_of_the_state_machine_is_accepted(session_factory: sessionmaker[Session],
                                                      participant_id: int) -> None:
    with session_factory() as session, session.begin():
        for status in ParticipantStatus:
            session.execute(update(m.Participant).where(m.Participant.id == participant_id).values(status=status))
