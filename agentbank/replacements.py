"""The scrubber's memory in the database: load a participant's replacements, store the new ones."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentbank.scrub import Scrubber, original_key
from storage.models import Participant, PiiReplacement


def scrubber_for(session: Session, participant: Participant, *, seed: str, reserved: set[str],
                 allow: set[str]) -> Scrubber:
    """A scrubber primed with every replacement already recorded for this participant."""
    rows = session.scalars(
        select(PiiReplacement).where(PiiReplacement.participant_id == participant.id).order_by(PiiReplacement.id)
    ).all()
    return Scrubber(
        seed=seed,
        known={(row.entity_type, row.original_key): row.replacement for row in rows},
        originals={" ".join(row.original.split()).casefold() for row in rows},
        spans={(row.entity_type, " ".join(row.original.split()).casefold()): " ".join(row.original.split())
               for row in rows if row.entity_type != "LOCATION" or row.replacement != row.original},
        reserved=reserved,
        allow=allow,
    )


def store_new(session: Session, participant: Participant, scrubber: Scrubber) -> int:
    """Add the scrubber's new replacements to the session; returns how many."""
    for item in scrubber.new:
        session.add(PiiReplacement(participant_id=participant.id, entity_type=item.entity_type,
                                   original_key=original_key(item.original), original=item.original,
                                   replacement=item.replacement))
    count = len(scrubber.new)
    scrubber.new.clear()
    session.flush()
    return count
