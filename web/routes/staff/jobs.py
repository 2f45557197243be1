"""``/staff/jobs``: queue depths, transcriptions and scheduled actions (operators retry failed ones), payments."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from kombu.exceptions import OperationalError as BrokerUnreachable

from interviewer.transcription.jobs import request_transcription
from storage.models import Interview, Participant, ScheduledAction, Visit
from survey.scheduling.runner import retry
from web.broker_queues import queue_depths
from web.deps import FormDep, SessionDep
from web.staff import jobs
from web.staff.access import Operator, Viewer
from web.staff.errors import StaffInputError, StaffNotFound
from web.staff.rendering import render_staff
from web.staff.roles import Permission

router = APIRouter(prefix="/staff/jobs")
NOTICES = {"transcription": "The transcription was queued again.", "action": "The action is due again now."}


@router.get("")
def jobs_page(request: Request, session: SessionDep, staff: Viewer, done: str | None = None) -> Response:
    """Everything waiting or failed, with a retry button for operators."""
    settings = request.app.state.settings
    study_id = request.app.state.journey.study_id
    counts, interviews = jobs.transcriptions(session, study_id)
    statuses, latest = jobs.prolific_sync(session)
    return render_staff(request, staff, "jobs.html", {
        "title": "Jobs", "queues": queue_depths(settings.broker_url, settings.queues),
        "transcription_counts": counts, "interviews": interviews, "actions": jobs.actions(session, study_id),
        "action_counts": jobs.action_counts(session), "bonuses": jobs.bonuses(session, study_id),
        "submission_statuses": statuses, "latest_submission": latest,
        "can_retry": staff.can(Permission.OPERATE_JOBS), "notice": NOTICES.get(done or ""),
    })


def _in_study(request: Request, session: SessionDep, participant_id: int | None) -> bool:
    participant = session.get(Participant, participant_id) if participant_id is not None else None
    return participant is not None and participant.study_id == request.app.state.journey.study_id


@router.post("/transcriptions/{interview_id}/retry")
def retry_transcription(request: Request, session: SessionDep, staff: Operator, interview_id: int) -> Response:
    """Queue a failed (or finished) interview's transcription again."""
    interview = session.get(Interview, interview_id)
    visit = session.get(Visit, interview.visit_id) if interview and interview.visit_id else None
    if interview is None or visit is None or not _in_study(request, session, visit.participant_id):
        raise StaffNotFound(f"There is no interview {interview_id} in this study.")
    session.rollback()  # request_transcription runs its own transaction
    settings = request.app.state.settings
    factory = request.app.state.session_factory
    if not request_transcription(factory, interview_id, requested_by=staff.actor):
        raise StaffInputError(f"Interview {interview_id} is being transcribed right now; nothing was queued.")
    try:
        if settings.send_transcription is None:
            raise BrokerUnreachable("this server has no broker to send transcriptions to")
        settings.send_transcription(interview_id)
    except BrokerUnreachable:
        raise StaffInputError("The broker cannot be reached; the transcription is marked pending and will be sent "
                              "by 'voxbank transcribe --pending' once the broker is back.") from None
    return RedirectResponse("/staff/jobs?done=transcription", status_code=303)


@router.post("/actions/{action_id}/retry")
def retry_action(request: Request, session: SessionDep, staff: Operator, action_id: int, form: FormDep) -> Response:
    """Put a failed scheduled action back, due now (a bonus that may have paid needs 'pay again')."""
    action = session.get(ScheduledAction, action_id)
    if action is None or not _in_study(request, session, action.participant_id):
        raise StaffNotFound(f"There is no scheduled action {action_id} in this study.")
    try:
        retry(session, action_id, actor=staff.actor, pay_again=(form.get("pay_again") or [""])[0] == "yes")
    except ValueError as error:
        raise StaffInputError(str(error).replace("add --pay-again", "tick 'pay again'")) from None
    session.commit()
    return RedirectResponse("/staff/jobs?done=action", status_code=303)
