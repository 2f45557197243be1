"""``/staff/participants``: the list, one participant's record, their recordings, and withdrawal.

Reading a participant's record is audited: ``participant.read`` for the page and ``transcript.read``
for each interview whose transcript it shows; every request for a recording's audio writes
``recording.read`` with the byte range sent. All name the staff account.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import func, select

from storage import audit
from storage.blobs import BlobError
from storage.models import Interview, Participant, Recording, Visit
from survey.withdrawal import REASON_MAX_CHARS, withdraw
from web.deps import BlobStoreDep, FormDep, SessionDep
from web.routes.withdrawal import _end_live_call as end_live_call
from web.staff import participant_record
from web.staff.access import Researcher, Withdrawer
from web.staff.audio import ArchiveFile, ChannelWav, RangeNotSatisfiable, parse_range
from web.staff.errors import StaffInputError, StaffNotFound
from web.staff.rendering import render_staff
from web.staff.roles import Permission

router = APIRouter(prefix="/staff")
PAGE_SIZE = 100


@router.get("/participants")
def list_page(request: Request, session: SessionDep, staff: Researcher, status: str | None = None,
              page: int = 1) -> Response:
    """Participants of the study, newest first, with their wave-1 step; filter by status."""
    journey = request.app.state.journey
    query = select(Participant).where(Participant.study_id == journey.study_id)
    if status:
        query = query.where(Participant.status == status)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    page = max(1, page)
    rows = list(session.scalars(query.order_by(Participant.created_at.desc(), Participant.id.desc())
                                .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    steps = {v.participant_id: v for v in session.scalars(
        select(Visit).where(Visit.participant_id.in_([p.id for p in rows]), Visit.wave == 1))} if rows else {}
    statuses = sorted(session.scalars(select(Participant.status).where(
        Participant.study_id == journey.study_id).distinct()))
    return render_staff(request, staff, "participants.html", {
        "title": "Participants", "rows": rows, "visits": steps, "total": total, "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)), "status": status or "", "statuses": statuses,
    })


def _participant(request: Request, session: SessionDep, pseudonym: str) -> Participant:
    found = participant_record.find_participant(session, request.app.state.journey.study_id, pseudonym)
    if found is None:
        raise StaffNotFound(f"There is no participant {pseudonym} in this study.")
    return found


@router.get("/participants/{pseudonym}")
def detail_page(request: Request, session: SessionDep, staff: Researcher, pseudonym: str,
                done: str | None = None) -> Response:
    """One participant: timeline, consent copy, transcript with audio, answers, payoffs, scheduled actions."""
    participant = _participant(request, session, pseudonym)
    record = participant_record.load(session, participant)
    audit.record(session, staff.actor, "participant.read", f"participant:{participant.id}", {})
    for item in record.interviews:
        if item.turns:
            audit.record(session, staff.actor, "transcript.read", f"interview:{item.interview.id}",
                         {"turns": len(item.turns)})
    session.commit()
    return render_staff(request, staff, "participant.html", {
        "title": f"Participant {participant.pseudonym_id[:8]}", "record": record,
        "show_prolific_id": staff.can(Permission.SEE_PROLIFIC_IDS),
        "can_withdraw": staff.can(Permission.WITHDRAW_PARTICIPANTS), "reason_max": REASON_MAX_CHARS,
        "notice": "The participant was withdrawn and their data erased." if done == "withdrawn" else None,
    })


@router.post("/participants/{pseudonym}/withdraw")
def withdraw_participant(request: Request, session: SessionDep, blobs: BlobStoreDep, staff: Withdrawer,
                         pseudonym: str, form: FormDep) -> Response:
    """Withdraw a participant on their behalf (an admin, after typing the pseudonym to confirm)."""
    participant = _participant(request, session, pseudonym)
    if (form.get("confirm") or [""])[0].strip() != participant.pseudonym_id:
        raise StaffInputError("To withdraw this participant, type their pseudonym in the confirmation box. "
                              "Nothing was changed.")
    reason = (form.get("reason") or [""])[0]
    if len(reason) > REASON_MAX_CHARS:
        raise StaffInputError(f"The reason is longer than {REASON_MAX_CHARS} characters. Nothing was changed.")
    visits = list(session.scalars(select(Visit.id).where(Visit.participant_id == participant.id)))
    withdraw(session, participant, reason, blobs, actor=staff.actor)
    session.commit()
    for visit_id in visits:  # a live interview is hung up now, as when the participant withdraws themselves
        end_live_call(request, visit_id)
    return RedirectResponse(f"/staff/participants/{participant.pseudonym_id}?done=withdrawn", status_code=303)


@router.get("/recordings/{recording_id}/audio")
def recording_audio(request: Request, session: SessionDep, blobs: BlobStoreDep, staff: Researcher,
                    recording_id: int) -> Response:
    """One recorded channel as a WAV file (or, once its WAV chunks were purged, its Opus copy), with HTTP Range
    so the player can seek; every request is audited."""
    recording = session.get(Recording, recording_id)
    study_id = session.scalar(select(Participant.study_id).join(Visit, Visit.participant_id == Participant.id)
                              .join(Interview, Interview.visit_id == Visit.id)
                              .where(Interview.id == (recording.interview_id if recording else None)))
    if recording is None or recording.status == "deleted" or study_id != request.app.state.journey.study_id:
        raise StaffNotFound(f"There is no recording {recording_id} (it may have been erased at withdrawal).")
    audio: ChannelWav | ArchiveFile
    if recording.wav_purged_at is not None and recording.archive_sha256:
        try:  # the WAV chunks are gone (retention policy): the Opus copy is the recording now
            audio = ArchiveFile(recording, blobs)
        except BlobError as error:
            raise StaffNotFound(f"The Opus copy of recording {recording_id} cannot be read (its WAV chunks were "
                                f"deleted under the retention policy): {error}") from None
    else:
        audio = ChannelWav(recording, blobs)
    try:
        wanted = parse_range(request.headers.get("range"), audio.size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{audio.size}"})
    first, last = wanted if wanted else (0, audio.size - 1)
    audit.record(session, staff.actor, "recording.read", f"interview:{recording.interview_id}",
                 {"recording_id": recording.id, "channel": recording.channel, "bytes": [first, last],
                  **({"format": "opus"} if isinstance(audio, ArchiveFile) else {})})
    session.commit()
    if isinstance(audio, ChannelWav) and audio.pieces:
        try:  # a missing or damaged chunk is reported now, not halfway through the response
            blobs.get(audio.pieces[0].blob_sha256)
        except BlobError as error:
            raise StaffNotFound(f"The audio of recording {recording_id} cannot be read: {error}") from None
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(last - first + 1), "Cache-Control": "no-store"}
    if wanted is None:
        return StreamingResponse(audio.read(first, last), media_type=audio.media_type, headers=headers)
    headers["Content-Range"] = f"bytes {first}-{last}/{audio.size}"
    return StreamingResponse(audio.read(first, last), status_code=206, media_type=audio.media_type, headers=headers)
