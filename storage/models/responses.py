"""Answers to the batteries, experiment conditions, game decisions, outcomes and bonuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow
from storage.states import BonusStatus, one_of


class Response(Base):
    """One answer to one item in one wave, with when it was shown and answered.

    ``missing`` holds the GSS's missing-data code when there is no substantive answer: ``IAP`` (the
    question does not apply: the person chose the item's inapplicable answer, whose code stays in
    ``value_number``), ``NA`` (no answer: left blank, declined), ``DK`` (don't know). Null for an answer.
    """

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("visit_id", "instrument", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    wave: Mapped[int]
    instrument: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(64))
    value_number: Mapped[float | None]
    value_text: Mapped[str | None] = mapped_column(Text)
    missing: Mapped[str | None] = mapped_column(String(3))
    presentation_order: Mapped[int]
    shown_at: Mapped[datetime | None]
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    response_ms: Mapped[int | None]
    protocol_hash: Mapped[str] = mapped_column(String(64))


class ExperimentAssignment(Base):
    """The condition a participant was assigned in one experiment, and where in its block."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (UniqueConstraint("participant_id", "experiment_id", "wave"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    experiment_id: Mapped[str] = mapped_column(String(64))
    wave: Mapped[int]
    condition_id: Mapped[str] = mapped_column(String(64))
    block_index: Mapped[int]
    block_position: Mapped[int]
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class GameDecision(Base):
    """A participant's decision in one game in one wave (``decision`` as the game file defines it)."""

    __tablename__ = "game_decisions"
    __table_args__ = (UniqueConstraint("visit_id", "game_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    game_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    decision: Mapped[dict[str, Any]] = mapped_column(default=dict)
    presentation_order: Mapped[int]
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    protocol_hash: Mapped[str] = mapped_column(String(64))


class GameOutcome(Base):
    """A decision's payoff once partners exist: who it was paired with and what it earned."""

    __tablename__ = "game_outcomes"
    __table_args__ = (UniqueConstraint("decision_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("game_decisions.id"))
    partner_decision_ids: Mapped[list[Any]] = mapped_column(default=list)
    payoff_cents: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bonus(Base):
    """A bonus owed for one wave; ``idempotency_key`` guards against paying it twice."""

    __tablename__ = "bonuses"
    __table_args__ = (UniqueConstraint("participant_id", "wave"), one_of("status", BonusStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    wave: Mapped[int]
    amount_cents: Mapped[int]
    game_id: Mapped[str] = mapped_column(String(64))
    computation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=BonusStatus.COMPUTED)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    prolific_bonus_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
