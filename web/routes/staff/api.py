"""``/api/staff/``: the dashboard's reads as JSON, for scripts; an API token (``voxbank staff token``) or a session.

The OpenAPI document at ``/api/staff/openapi.json`` describes these routes and is served only to
signed-in staff. Reads of a participant's transcript are audited exactly as on the pages.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi

from storage import audit
from web.deps import SessionDep
from web.staff import live, overview, participant_record, safety_events
from web.staff.access import Researcher, SignedIn, Viewer
from web.staff.api_schemas import (
    DayOut,
    InterviewOut,
    LiveInterviewOut,
    OverviewOut,
    ParticipantOut,
    QuotaCellOut,
    SafetyEventOut,
    StageOut,
    TurnOut,
)
from web.staff.errors import StaffNotFound
from web.staff.roles import Permission

router = APIRouter(prefix="/api/staff", tags=["staff"])


@router.get("/overview", response_model=OverviewOut)
def api_overview(request: Request, session: SessionDep, staff: Viewer) -> OverviewOut:
    """The funnel by wave, completion rate, entries per day, median time per step and quota fill."""
    journey = request.app.state.journey
    data = overview.build(session, journey.runtime, journey.study_id)
    return OverviewOut(
        funnel=[StageOut(wave=s.wave, stage=s.label, participants=s.count) for s in data.funnel],
        completion_rate=data.completion_rate,
        entries_per_day=[DayOut(day=day, entries=n) for day, n in data.entries_per_day],
        median_seconds_per_step=data.median_seconds_per_step,
        at_step={str(wave): dict(steps) for wave, steps in data.at_step.items()},
        quota=[QuotaCellOut(stratum=q.stratum, cell=q.cell, filled=q.filled, target=q.target) for q in data.quota],
        withdrawn=data.withdrawn, screened_out=data.screened_out,
    )


@router.get("/live", response_model=list[LiveInterviewOut])
def api_live(request: Request, session: SessionDep, staff: Viewer) -> list[LiveInterviewOut]:
    """Interviews in progress and abandoned ones, newest first."""
    journey = request.app.state.journey
    return [LiveInterviewOut(
        interview_id=r.interview_id, pseudonym=r.pseudonym, status=r.status, elapsed_s=r.elapsed_s,
        budget_s=r.budget_s, module=r.module, question=r.question, last_response_latency_ms=r.last_latency_ms,
        seconds_since_last_turn=r.quiet_s, connection=r.connection, safety=r.safety,
        safety_unreviewed=r.unreviewed, abandoned=r.abandoned,
    ) for r in live.interviews(session, journey.runtime.protocol, journey.study_id)]


@router.get("/participants/{pseudonym}", response_model=ParticipantOut)
def api_participant(request: Request, session: SessionDep, staff: Researcher, pseudonym: str) -> ParticipantOut:
    """One participant's record with their interview turns (audited as a transcript read)."""
    participant = participant_record.find_participant(session, request.app.state.journey.study_id, pseudonym)
    if participant is None:
        raise StaffNotFound(f"There is no participant {pseudonym} in this study.")
    record = participant_record.load(session, participant)
    for item in record.interviews:
        if item.turns:
            audit.record(session, staff.actor, "transcript.read", f"interview:{item.interview.id}",
                         {"turns": len(item.turns), "via": "api"})
    session.commit()
    return ParticipantOut(
        pseudonym=participant.pseudonym_id, status=participant.status,
        prolific_pid=participant.prolific_pid if staff.can(Permission.SEE_PROLIFIC_IDS) else None,
        strata={str(k): str(v) for k, v in participant.strata.items()}, created_at=participant.created_at,
        withdrawn_at=participant.withdrawn_at,
        interviews=[InterviewOut(
            interview_id=i.interview.id, status=i.interview.status, started_at=i.interview.started_at,
            ended_at=i.interview.ended_at, transcription_status=i.interview.transcription_status,
            audio={channel: f"/staff/recordings/{r.id}/audio" for channel, r in i.recordings.items()
                   if r.status != "deleted"},
            wav_purged={channel: r.wav_purged_at for channel, r in i.recordings.items()
                        if r.status != "deleted" and r.wav_purged_at is not None},
            turns=[TurnOut(seq=t.seq, speaker=t.speaker, kind=t.kind, question_id=t.question_id, text=t.text,
                           start_s=t.start_s, end_s=t.end_s) for t in i.turns],
        ) for i in record.interviews],
        answers=len(record.responses), consent_versions=[c.document_version for c in record.consents],
    )


@router.get("/safety-events", response_model=list[SafetyEventOut])
def api_safety_events(request: Request, session: SessionDep, staff: Researcher) -> list[SafetyEventOut]:
    """Safety events awaiting review, newest first (mark them reviewed on the quality page)."""
    rows = safety_events.listed(session, request.app.state.journey.study_id, with_turns=False, unreviewed_only=True)
    return [SafetyEventOut(event_id=r.event.id, interview_id=r.event.interview_id, pseudonym=r.pseudonym,
                           turn_seq=r.event.turn_seq, question_id=r.event.question_id, signal=r.event.signal,
                           score=r.event.score, source=r.event.source, created_at=r.event.created_at)
            for r in rows]


@router.get("/openapi.json")
def api_openapi(staff: SignedIn) -> dict[str, Any]:
    """The OpenAPI document of the staff API (signed-in staff only)."""
    return get_openapi(title="voxbank staff API", version="1",
                       description="Reads behind the staff dashboard. Authenticate with "
                                   "'Authorization: Bearer <token>' (voxbank staff token EMAIL --name N --by ADMIN).",
                       routes=[r for r in router.routes if getattr(r, "path", "") != "/api/staff/openapi.json"])
