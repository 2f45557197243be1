"""``/staff/quality``: safety events to review, transcript QA flags, follow-up measures, speeding and
straight-lining; and marking a safety event reviewed.

The page shows, for each safety event, the participant's turn that raised it: reading it is a
transcript read, audited as ``transcript.read`` (one per interview shown, with the account) like the
participant record. Marking an event reviewed writes ``safety_event.reviewed``.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from storage import audit
from web.deps import FormDep, SessionDep
from web.staff import quality, safety_events
from web.staff.access import Researcher
from web.staff.errors import StaffInputError, StaffNotFound
from web.staff.rendering import render_staff

router = APIRouter(prefix="/staff/quality")


@router.get("")
def quality_page(request: Request, session: SessionDep, staff: Researcher, reviewed: int | None = None,
                 note: str | None = None) -> Response:
    """Safety events (unreviewed first) and quality measures per interview and visit (researchers and admins)."""
    study_id = request.app.state.journey.study_id
    events = safety_events.listed(session, study_id, with_turns=True)
    shown = Counter(row.event.interview_id for row in events if row.turn_text is not None)
    for interview_id, turns in sorted(shown.items()):
        audit.record(session, staff.actor, "transcript.read", f"interview:{interview_id}",
                     {"turns": turns, "via": "quality.safety_events"})
    session.commit()
    return render_staff(request, staff, "quality.html", {
        "title": "Quality", "events": events, "note_max": safety_events.NOTE_MAX_CHARS,
        "unreviewed": sum(not row.reviewed for row in events),
        "interviews": quality.interviews(session, study_id), "signals": quality.visit_signals(session, study_id),
        "notice": None if reviewed is None else f"Safety event {reviewed} was marked reviewed." + (
            " The participant has withdrawn, so the note was not kept." if note == "not-kept" else ""),
    })


@router.post("/safety-events/{event_id}/review")
def review_safety_event(request: Request, session: SessionDep, staff: Researcher, event_id: int,
                        form: FormDep) -> Response:
    """Mark a safety event reviewed, with a required note (once; a second review is refused)."""
    event = safety_events.find(session, request.app.state.journey.study_id, event_id)
    if event is None:
        raise StaffNotFound(f"There is no safety event {event_id} in this study.")
    try:
        kept = safety_events.mark_reviewed(session, event, (form.get("note") or [""])[0], staff.actor)
    except safety_events.ReviewRefused as refused:
        raise StaffInputError(str(refused)) from None
    session.commit()
    dropped = "" if kept else "&note=not-kept"
    return RedirectResponse(f"/staff/quality?reviewed={event_id}{dropped}#safety-event-{event_id}", status_code=303)
