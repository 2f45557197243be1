"""``/staff/quality``: transcript QA flags, follow-up measures, speeding and straight-lining, distress events."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.deps import SessionDep
from web.staff import quality
from web.staff.access import Researcher
from web.staff.rendering import render_staff

router = APIRouter(prefix="/staff/quality")


@router.get("")
def quality_page(request: Request, session: SessionDep, staff: Researcher) -> Response:
    """Quality measures per interview and visit (individual-level, so researchers and admins only)."""
    study_id = request.app.state.journey.study_id
    interviews = quality.interviews(session, study_id)
    return render_staff(request, staff, "quality.html", {
        "title": "Quality", "interviews": interviews, "signals": quality.visit_signals(session, study_id),
        "distress": [(i, event) for i in interviews for event in i.distress],
        "safety_rows": quality.safety_event_rows(session),
    })
