"""What every part of the journey shares: the study it serves, the visit's plan and its position.

``Journey`` (``survey.journey``) is assembled from one class per concern, each in its own module:
``survey.page_views`` (page telemetry), ``survey.consenting`` (the consent step), ``survey.answering``
(showing and saving pages, through ``survey.steps``) and, in ``survey.journey`` itself, entry and
quotas. This base holds the study facts they all read and the one guarded move of a visit's position.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import Participant, Visit
from storage.states import ParticipantStatus, VisitStatus
from survey.errors import NotAvailable
from survey.plan import Page, Plan
from survey.runtime import StudyRuntime


class JourneyBase:
    """The study facts (fields of the ``Journey`` dataclass) and the visit helpers every concern uses."""

    runtime: StudyRuntime
    study_id: int
    contact_email: str
    quota_hold: timedelta | None

    @staticmethod
    def plan_of(visit: Visit) -> Plan:
        """The visit's plan, typed."""
        return Plan.of(visit.plan)

    def page(self, visit: Visit, position: int | None = None) -> Page:
        """The plan's page at ``position`` (default: the current one)."""
        return self.plan_of(visit).pages[visit.position if position is None else position]

    def total_pages(self, visit: Visit) -> int:
        """How many pages the participant answers (the closing page not counted)."""
        return self.plan_of(visit).answered_pages

    def _advance(self, session: Session, visit: Visit, position: int, *, status: str | None = None) -> bool:
        """Move the visit past ``position`` if it is still there; False when another submit got there first."""
        pages = self.plan_of(visit).pages
        following = pages[min(position + 1, len(pages) - 1)].step
        values: dict[str, Any] = {"position": position + 1, "current_step": following}
        if status is not None:
            values = {"status": status}
        result = session.execute(
            update(Visit).where(Visit.id == visit.id, Visit.position == position, Visit.status == VisitStatus.STARTED)
            .values(**values).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        for key, value in values.items():
            set_committed_value(visit, key, value)
        return True

    @staticmethod
    def _require_active(participant: Participant, visit: Visit) -> None:
        if participant.status != ParticipantStatus.ACTIVE or visit.status != VisitStatus.STARTED:
            raise NotAvailable("This study is no longer open to you: it has finished or you have left it.")

    @staticmethod
    def _actor(participant: Participant) -> str:
        return f"participant:{participant.pseudonym_id}"
