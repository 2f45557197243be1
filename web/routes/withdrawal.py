"""Withdrawal, offered on every page: ``GET /study/{slug}/withdraw`` asks, ``POST`` does it."""

from __future__ import annotations

import logging

import anyio.from_thread
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from interviewer.voice.livekit_room import end_room
from survey.errors import TamperedForm
from survey.withdrawal import REASON_MAX_CHARS, withdraw
from web.deps import BlobStoreDep, FormDep, JourneyDep, ParticipantVisit, SessionDep, SignerDep
from web.pages import base_path, render

router = APIRouter(prefix="/study/{slug}")
PURPOSE = "withdraw"
log = logging.getLogger(__name__)


def _end_live_call(request: Request, visit_id: int) -> None:
    """Hang up the visit's interview, if one is live: the embedded call in this process, or the LiveKit room.

    The call's writers refuse the withdrawn interview anyway; this stops the microphone and the
    interviewer now rather than at their next write.
    """
    voice = getattr(request.app.state, "embedded_voice", None)
    if voice is not None:
        anyio.from_thread.run(voice.end, visit_id)
    settings = request.app.state.settings
    if settings.livekit_url:
        try:
            anyio.from_thread.run(lambda: end_room(settings.livekit, visit_id=visit_id))
        except Exception:  # no room (never started), or LiveKit unreachable: the job's next write stops it
            log.warning("could not close the withdrawn visit's LiveKit room", extra={"visit_id": visit_id})


@router.get("/withdraw")
def ask(request: Request, journey: JourneyDep, signer: SignerDep, ctx: ParticipantVisit) -> Response:
    """Explain what withdrawing does and ask for confirmation (a reason is optional)."""
    if ctx.participant.status == "withdrawn":
        return RedirectResponse(f"{base_path(request, journey.runtime.slug)}/step", status_code=303)
    token = signer.form_token(ctx.visit.id if ctx.visit else 0, 0, PURPOSE)
    return render(request, journey, "withdraw.html", {
        "title": "Leave the study", "token": token, "max_chars": REASON_MAX_CHARS,
    }, signed_in=True)


@router.post("/withdraw")
def confirm(request: Request, journey: JourneyDep, session: SessionDep, signer: SignerDep,
            blobs: BlobStoreDep, ctx: ParticipantVisit, form: FormDep) -> Response:
    """Withdraw the participant, erase what they gave, and show how to return the study on Prolific."""
    tokens = form.get("token") or []
    signer.check_form_token(tokens[0] if tokens else None, ctx.visit.id if ctx.visit else 0, PURPOSE)
    if set(form) - {"token", "reason"} or any(len(v) != 1 for v in form.values()):
        raise TamperedForm("The withdrawal form holds fields it does not have. Nothing was changed.")
    reason = (form.get("reason") or [""])[0]
    if len(reason) > REASON_MAX_CHARS:
        raise TamperedForm(f"The reason is longer than {REASON_MAX_CHARS} characters. Nothing was changed.")
    withdraw(session, ctx.participant, reason, blobs)
    session.commit()
    if ctx.visit is not None:
        _end_live_call(request, ctx.visit.id)
    return RedirectResponse(f"{base_path(request, journey.runtime.slug)}/step", status_code=303)
