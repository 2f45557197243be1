"""Withdrawal, offered on every page: ``GET /study/{slug}/withdraw`` asks, ``POST`` does it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from survey.errors import TamperedForm
from survey.withdrawal import REASON_MAX_CHARS, withdraw
from web.deps import BlobStoreDep, FormDep, JourneyDep, ParticipantVisit, SessionDep, SignerDep
from web.pages import base_path, render

router = APIRouter(prefix="/study/{slug}")
PURPOSE = "withdraw"


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
    return RedirectResponse(f"{base_path(request, journey.runtime.slug)}/step", status_code=303)
