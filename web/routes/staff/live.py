"""``/staff/live``: interviews in progress and abandoned; the table refreshes itself every five seconds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.deps import SessionDep
from web.staff import live
from web.staff.access import Viewer
from web.staff.rendering import render_staff
from web.staff.roles import Permission

router = APIRouter(prefix="/staff/live")


def _context(request: Request, session: SessionDep, staff: Viewer) -> dict[str, object]:
    journey = request.app.state.journey
    rows = live.interviews(session, journey.runtime.protocol, journey.study_id)
    return {"title": "Live interviews", "running": [r for r in rows if not r.abandoned],
            "abandoned": [r for r in rows if r.abandoned],
            "link_participants": staff.can(Permission.READ_PARTICIPANT_DATA)}


@router.get("")
def live_page(request: Request, session: SessionDep, staff: Viewer) -> Response:
    """The live page (its table is refreshed from ``/staff/live/rows`` by /static/staff.js)."""
    return render_staff(request, staff, "live.html", _context(request, session, staff))


@router.get("/rows")
def live_rows(request: Request, session: SessionDep, staff: Viewer) -> Response:
    """Just the live tables, for the page's refresh."""
    return render_staff(request, staff, "live_rows.html", _context(request, session, staff))
