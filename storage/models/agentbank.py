"""What the agent-bank export must remember: the pseudonym given to each piece of PII it scrubbed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class PiiReplacement(Base):
    """One scrubbed span of a participant's transcript and the pseudonym that replaces it.

    Kept in the database (never in an export) so that the same name gets the same pseudonym
    throughout a participant's transcript and in every later export. ``original_key`` is the
    sha256 of the normalised original and makes the lookup unique; ``original`` is the text
    itself, sensitive like the transcript it came from.
    """

    __tablename__ = "pii_replacements"
    __table_args__ = (UniqueConstraint("participant_id", "entity_type", "original_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    original_key: Mapped[str] = mapped_column(String(64))
    original: Mapped[str] = mapped_column(Text)
    replacement: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
