"""The participant journey's bookkeeping: quota cells, randomisation blocks and page views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class QuotaCell(Base):
    """How many participants one quota cell may hold and how many it holds.

    ``stratum``/``cell`` are the ids from study.yaml; the study-wide total is the row ``*``/``*``.
    ``filled`` only moves through a conditional UPDATE (``filled < capacity``), so concurrent
    entries can never overfill a cell.
    """

    __tablename__ = "quota_cells"
    __table_args__ = (UniqueConstraint("study_id", "stratum", "cell"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    stratum: Mapped[str] = mapped_column(String(64))
    cell: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int]
    filled: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssignmentBlock(Base):
    """One block of an experiment's blocked randomisation: a shuffled list of conditions, dealt in order.

    ``sequence`` holds each condition equally often; ``filled`` is how many of them have been
    dealt. A block is taken by a conditional UPDATE (``filled = seen``), so two entries at the
    same moment never get the same slot.
    """

    __tablename__ = "assignment_blocks"
    __table_args__ = (UniqueConstraint("study_id", "experiment_id", "block_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    experiment_id: Mapped[str] = mapped_column(String(64))
    block_index: Mapped[int]
    sequence: Mapped[list[Any]] = mapped_column(default=list)
    filled: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PageView(Base):
    """One page of a visit as the participant met it: first shown, views, submitted, and quality signals.

    The page times table (oTree's PageTimes): ``position`` is the page's index in the visit's
    plan; ``signals`` holds speeding and straight-lining flags, recorded but never enforced.
    """

    __tablename__ = "page_views"
    __table_args__ = (UniqueConstraint("visit_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    position: Mapped[int]
    page_key: Mapped[str] = mapped_column(String(120))
    first_shown_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_shown_at: Mapped[datetime] = mapped_column(default=utcnow)
    views: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None]
    item_count: Mapped[int] = mapped_column(default=0)
    signals: Mapped[dict[str, Any]] = mapped_column(default=dict)
