"""The participant's pages: ``GET /study/{slug}/step`` shows where they are, ``POST`` saves that page.

Every page, whatever it is, lives at the same address, so a refresh or the back button shows the
current page rather than an old one (pages are sent with ``Cache-Control: no-store``). A form that
was already saved — another tab, a double click, a replayed post — is answered with a redirect to
the current page and a note, and nothing is written twice (see ``survey.journey``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from storage.states import ParticipantStatus, VisitStatus
from survey import consent as consent_doc
from survey.errors import TamperedForm
from survey.journey import TOKEN_FIELD, Journey, Shown
from survey.steps import step_kind
from web.deps import FormDep, JourneyDep, ParticipantContext, ParticipantVisit, SessionDep, SignerDep
from web.interview_facts import interview_facts
from web.markdown import to_html
from web.pages import NOTICES, base_path, blank_errors, page_context, prolific_link, render
from web.schemas import ProgressOut

router = APIRouter(prefix="/study/{slug}")
SHOW_ATTEMPTS = 3

INFO_PAGES: dict[str, dict[str, Any]] = {
    "mic_check": {
        "title": "Microphone check",
        "paragraphs": [
            "The next step is a voice interview. When you start it, your browser will ask to use your "
            "microphone: please allow it, and use a quiet place and headphones if you have them.",
            "Check your microphone here first: press the button, say a sentence, and listen to the recording.",
        ],
        "mic_check": True,
    },
    "interview": {
        "title": "The interview",
        "paragraphs": [
            "Now you will talk with {interviewer}, the AI interviewer, by voice, for {duration}. "
            "Your progress is saved as you go; if you are disconnected, open the interview again to continue.",
            "When the interview has ended, come back here and continue to the surveys, games and scenarios.",
        ],
        "interview_link": True,
    },
}


def _status_page(request: Request, journey: Journey, ctx: ParticipantContext, notice: str | None) -> Response | None:
    """The page for a participant who is not (or no longer) answering: finished, declined, withdrawn."""
    participant, visit = ctx.participant, ctx.visit
    if participant.status == ParticipantStatus.WITHDRAWN:
        return render(request, journey, "withdrawn.html", {"title": "You have left the study"})
    if participant.status == ParticipantStatus.DECLINED:
        return render(request, journey, "declined.html", {"title": "Thank you"})
    if participant.status == ParticipantStatus.SCREENED_OUT or visit is None:
        return render(request, journey, "screened_out.html", {
            "title": "Thank you", "prolific_url": prolific_link(journey.runtime.screened_out_code)})
    if visit.status == VisitStatus.COMPLETED:
        return render(request, journey, "complete.html", {
            "title": "Thank you", "code": journey.runtime.completion_code,
            "prolific_url": prolific_link(journey.runtime.completion_code),
            "already": notice == "already_finished", "next_wave_days": _next_wave_days(journey, visit.wave),
        }, signed_in=True)
    return None


def _next_wave_days(journey: Journey, wave: int) -> int | None:
    """Days until the wave after ``wave`` opens, or None when ``wave`` is the study's last."""
    try:
        return journey.runtime.wave(wave + 1).offset_days
    except KeyError:
        return None


def _render_page(request: Request, journey: Journey, signer: SignerDep, ctx: ParticipantContext, shown: Shown, *,
                 values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 form_error: str | None = None, chosen_scopes: list[str] | None = None,
                 skip_prompt: bool = False, notice: str | None = None, status: int = 200) -> Response:
    assert ctx.visit is not None
    token = signer.form_token(ctx.visit.id, shown.position)
    common = {"position": shown.position, "total": shown.total, "token": token, "notice": NOTICES.get(notice or "")}
    template = step_kind(shown.step).template
    if template == "consent.html":
        document = journey.runtime.consent
        chosen = set(chosen_scopes or [])
        return render(request, journey, "consent.html", {
            **common, "title": "Consent", "consent_html": to_html(journey.consent_text()),
            "version": document.version, "scopes": consent_doc.scopes(document), "chosen": chosen,
            "form_error": form_error,
        }, status=status, signed_in=True)
    if template == "info.html":
        page = INFO_PAGES[shown.step]
        facts = interview_facts(journey)  # the paragraphs name the guide's interviewer and length
        paragraphs = [paragraph.format(**facts) for paragraph in page["paragraphs"]]
        return render(request, journey, "info.html", {**common, **page, "paragraphs": paragraphs,
                                                      "form_error": form_error}, status=status, signed_in=True)
    context = page_context(journey, shown, token=token, values=values, errors=errors, skip_prompt=skip_prompt,
                           notice=notice)
    context["blank_count"] = blank_errors(shown.fields, errors or {})
    return render(request, journey, template, context, status=status, signed_in=True)


@router.get("/step")
def show_step(request: Request, journey: JourneyDep, session: SessionDep, signer: SignerDep,
              ctx: ParticipantVisit, notice: str | None = None) -> Response:
    """Show the participant's current page (or where they stand, if they are not answering)."""
    status_page = _status_page(request, journey, ctx, notice)
    if status_page is not None:
        return status_page
    assert ctx.visit is not None
    for attempt in range(SHOW_ATTEMPTS):
        try:
            shown = journey.show(session, ctx.participant, ctx.visit)
            session.commit()
            break
        except IntegrityError:
            # The same page opened in two tabs at once: the other tab's assignment won; use it.
            session.rollback()
            if attempt == SHOW_ATTEMPTS - 1:
                raise
    return _render_page(request, journey, signer, ctx, shown, notice=notice)


@router.post("/step")
def submit_step(request: Request, journey: JourneyDep, session: SessionDep, signer: SignerDep,
                ctx: ParticipantVisit, form: FormDep) -> Response:
    """Save the page the form was shown for, then go on to the next one."""
    base = base_path(request, journey.runtime.slug)
    if ctx.visit is None:
        return RedirectResponse(f"{base}/step", status_code=303)
    tokens = form.get(TOKEN_FIELD, [])
    if len(tokens) > 1:
        raise TamperedForm("The form sent its security token more than once. Nothing was saved.")
    position = signer.check_form_token(tokens[0] if tokens else None, ctx.visit.id)
    status_page = _status_page(request, journey, ctx, None)
    if status_page is not None:
        return RedirectResponse(f"{base}/step", status_code=303)
    result = journey.submit(session, ctx.participant, ctx.visit, position, form)
    if result.outcome == "invalid":
        session.rollback()
        shown = journey.reshow(session, ctx.participant, ctx.visit, position)
        session.commit()
        parsed = result.parsed
        return _render_page(request, journey, signer, ctx, shown,
                            values=parsed.raw if parsed else None, errors=parsed.errors if parsed else None,
                            form_error=result.form_error, chosen_scopes=result.chosen_scopes,
                            skip_prompt=bool(parsed and parsed.blank), status=422)
    session.commit()
    if result.outcome == "stale":
        return RedirectResponse(f"{base}/step?notice=already_saved", status_code=303)
    return RedirectResponse(f"{base}/step", status_code=303)


@router.get("/progress")
def progress(journey: JourneyDep, ctx: ParticipantVisit) -> ProgressOut:
    """Where the participant is, as JSON (for the interview page's client and for checks)."""
    visit = ctx.visit
    return ProgressOut(
        study=journey.runtime.slug, participant_status=ctx.participant.status,
        visit_status=visit.status if visit else None, step=visit.current_step if visit else None,
        page=visit.position if visit else 0, pages=journey.total_pages(visit) if visit else 0,
        completed=bool(visit and visit.status == VisitStatus.COMPLETED),
    )

