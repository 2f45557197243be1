"""Page telemetry: when each page was first and last shown, how often, and how it was answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import PageView, Visit
from storage.models import utcnow as _utcnow
from survey.fields import Field, ParsedAnswers
from survey.journey_base import JourneyBase
from survey.signals import page_signals
from survey.sql import insert_ignoring_conflicts


class PageViews(JourneyBase):
    """Records page views (``page_views`` rows: one per visit and position)."""

    def _record_view(self, session: Session, visit: Visit, position: int, key: str, item_count: int) -> None:
        now = _utcnow()
        inserted = insert_ignoring_conflicts(session, PageView, [{
            "visit_id": visit.id, "position": position, "page_key": key, "first_shown_at": now,
            "last_shown_at": now, "views": 1, "item_count": item_count, "signals": {},
        }], ["visit_id", "position"])
        if not inserted:
            session.execute(
                update(PageView).where(PageView.visit_id == visit.id, PageView.position == position)
                .values(views=PageView.views + 1, last_shown_at=now)
                .execution_options(synchronize_session=False)
            )

    @staticmethod
    def _first_shown(session: Session, visit: Visit, position: int) -> datetime | None:
        view = session.scalars(
            select(PageView).where(PageView.visit_id == visit.id, PageView.position == position)
        ).first()
        return view.first_shown_at if view is not None else None

    def _finish_view(self, session: Session, visit: Visit, position: int, key: str, fields: list[Field],
                     parsed: ParsedAnswers | None, now: datetime, duration_ms: int | None) -> None:
        signals = page_signals(fields, parsed.values, duration_ms) if parsed is not None and fields else {}
        view = session.scalars(
            select(PageView).where(PageView.visit_id == visit.id, PageView.position == position)
        ).first()
        if view is None:
            view = PageView(visit_id=visit.id, position=position, page_key=key, first_shown_at=now,
                            last_shown_at=now, views=0, item_count=len(fields))
            session.add(view)
        view.submitted_at = now
        view.duration_ms = duration_ms if duration_ms is not None else elapsed_ms(view.first_shown_at, now)
        view.signals = signals
        session.flush()


def elapsed_ms(start: datetime | None, end: datetime) -> int | None:
    """Milliseconds from ``start`` to ``end`` (None when the start is unknown)."""
    return None if start is None else max(0, round((end - start).total_seconds() * 1000))
