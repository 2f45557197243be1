"""Entry from a Prolific link: ``/study/{slug}/start?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…``.

``GET`` checks the link and, for someone already in the study, hands back their capability and
resumes them where they were (another tab, another device). It never creates anyone: link
scanners and previews open links too, so a newcomer gets a welcome page (with the quota questions
not already answered by the link) and is created by its ``POST``. Strata may come in the link as
``<stratum id>=<cell id>`` parameters.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from survey import quotas
from survey.errors import InvalidEntry, ResumeCodeNeeded, TamperedForm
from survey.journey import Entry, Journey
from survey.prolific_links import PARAMETERS, ProlificIds
from web.capability import COOKIE_MAX_AGE_S, cookie_name
from web.deps import (
    FormDep,
    JourneyDep,
    RateLimitDep,
    ResumeCodesDep,
    SessionDep,
    SettingsDep,
    SignerDep,
    client_address,
)
from web.pages import base_path, prolific_link, render
from web.schemas import StudyLink

router = APIRouter(prefix="/study/{slug}")
ENTRY_ATTEMPTS = 3


def _strata_questions(journey: Journey, missing: list[str]) -> list[dict[str, Any]]:
    spec = journey.runtime.protocol.spec.quotas
    if spec is None:
        return []
    return [{"id": s.id, "question": s.question, "cells": [(c.id, c.label) for c in s.cells]}
            for s in spec.strata if s.id in missing]


def _known_strata(journey: Journey, params: dict[str, str]) -> dict[str, str]:
    spec = journey.runtime.protocol.spec.quotas
    ids = {s.id for s in spec.strata} if spec else set()
    return {key: value for key, value in params.items() if key in ids and value}


def _welcome(request: Request, journey: Journey, ids: ProlificIds, known: dict[str, str], missing: list[str],
             *, errors: dict[str, str] | None = None, chosen: dict[str, str] | None = None,
             status: int = 200) -> Response:
    return render(request, journey, "welcome.html", {
        "title": "Welcome", "ids": ids, "known": known, "questions": _strata_questions(journey, missing),
        "errors": errors or {}, "chosen": chosen or {},
    }, status=status)


def _holder(request: Request, journey: Journey, signer: SignerDep) -> int | None:
    """The participant this browser's capability names, if it holds a valid one."""
    capability = signer.read_capability(journey.runtime.slug, request.cookies.get(cookie_name(journey.runtime.slug)))
    return capability.participant_id if capability is not None else None


def _enter(session: SessionDep, journey: Journey, ids: ProlificIds, strata: dict[str, str],
           holder: int | None, *, code_proven: bool = False) -> Entry:
    """Create or resume; the same person entering twice at once is resumed, never duplicated."""
    for attempt in range(ENTRY_ATTEMPTS):
        try:
            entry = journey.enter(session, ids, strata, holder=holder, code_proven=code_proven)
            session.commit()
            return entry
        except IntegrityError:
            session.rollback()
            if attempt == ENTRY_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _after_entry(request: Request, journey: Journey, entry: Entry, signer: SignerDep,
                 settings: SettingsDep) -> Response:
    if entry.kind == "screened_out":
        return render(request, journey, "screened_out.html", {
            "title": "Thank you", "prolific_url": prolific_link(journey.runtime.screened_out_code),
        })
    assert entry.participant is not None
    base = base_path(request, journey.runtime.slug)
    finished = entry.kind == "resumed" and entry.visit is not None and entry.visit.status == "completed"
    response = RedirectResponse(f"{base}/step" + ("?notice=already_finished" if finished else ""), status_code=303)
    response.set_cookie(
        cookie_name(journey.runtime.slug),
        signer.capability(journey.runtime.slug, entry.participant.id, entry.participant.pseudonym_id,
                          entry.visit.id if entry.visit else None),
        max_age=COOKIE_MAX_AGE_S, path=base, httponly=True, samesite="lax",
        secure=settings.environment == "production",
    )
    return response


def _ask_for_code(request: Request, journey: Journey, ids: ProlificIds, refusal: ResumeCodeNeeded, *,
                  error: str | None = None) -> Response:
    """The page asking a participant who arrived with a new session on another device for their resume code."""
    return render(request, journey, "resume.html", {
        "title": refusal.title, "message": refusal.message, "ids": ids, "error": error,
    }, status=refusal.status)


def _resume(request: Request, journey: Journey, session: SessionDep, signer: SignerDep, settings: SettingsDep,
            ids: ProlificIds, strata: dict[str, str]) -> Response:
    """Resume (or create) from a link; a known participant with a new session is asked for their code."""
    try:
        entry = _enter(session, journey, ids, strata, _holder(request, journey, signer))
    except ResumeCodeNeeded as refusal:
        return _ask_for_code(request, journey, ids, refusal)
    return _after_entry(request, journey, entry, signer, settings)


@router.get("/start")
def start(request: Request, journey: JourneyDep, session: SessionDep, signer: SignerDep, settings: SettingsDep,
          limit: RateLimitDep, link: Annotated[StudyLink, Query()]) -> Response:
    """Check the link; resume an existing participant, or show a newcomer the welcome page."""
    ids = link.to_ids()
    limit.hit("entry", client_address(request), ids.participant_id)
    participant = journey.find(session, ids.participant_id)
    if participant is not None:
        return _resume(request, journey, session, signer, settings, ids, {})
    known = quotas.check_strata(journey.runtime, _known_strata(journey, dict(request.query_params)))
    return _welcome(request, journey, ids, known, quotas.missing_strata(journey.runtime, known))


@router.post("/start")
def begin(request: Request, journey: JourneyDep, session: SessionDep, signer: SignerDep, settings: SettingsDep,
          limit: RateLimitDep, form: FormDep) -> Response:
    """Create the participant from the welcome page (answers to the quota questions included)."""
    single = {}
    for key, values in form.items():
        if len(values) != 1:
            raise TamperedForm("The form sent a field more than once. Nothing was saved.")
        single[key] = values[0]
    ids = StudyLink(**{name: single.get(name) for name in PARAMETERS}).to_ids()
    limit.hit("entry", client_address(request), ids.participant_id)
    spec = journey.runtime.protocol.spec.quotas
    strata_ids = {s.id for s in spec.strata} if spec else set()
    allowed = set(PARAMETERS) | {f"stratum.{s}" for s in strata_ids} | {f"known.{s}" for s in strata_ids} | {"start"}
    unknown = [key for key in single if key not in allowed]
    if unknown:
        raise TamperedForm("The form holds fields the welcome page does not have. Nothing was saved.")
    known = quotas.check_strata(journey.runtime, {k.removeprefix("known."): v for k, v in single.items()
                                                  if k.startswith("known.")})
    chosen = {k.removeprefix("stratum."): v for k, v in single.items() if k.startswith("stratum.") and v}
    try:
        chosen = quotas.check_strata(journey.runtime, chosen)
    except Exception:
        raise TamperedForm("An answer on the welcome page is not one of its options. Nothing was saved.") from None
    strata = {**chosen, **known}
    if journey.find(session, ids.participant_id) is None:
        missing = quotas.missing_strata(journey.runtime, strata)
        if missing:
            errors = {s: "Please choose an answer." for s in missing}
            return _welcome(request, journey, ids, known, quotas.missing_strata(journey.runtime, known),
                            errors=errors, chosen=chosen, status=422)
    return _resume(request, journey, session, signer, settings, ids, strata)


WRONG_CODE = "That is not your resume code. Please check it on the device you started on and type it again."


@router.post("/resume")
def resume_with_code(request: Request, journey: JourneyDep, session: SessionDep, signer: SignerDep,
                     settings: SettingsDep, limit: RateLimitDep, codes: ResumeCodesDep, form: FormDep) -> Response:
    """Resume a participant on another device, under a new Prolific session, with their resume code.

    Each try counts against the ``resume`` limit per address and per Prolific id before the code
    is compared, so a code cannot be guessed by trying many. A wrong code changes nothing.
    """
    single = {key: values[0] for key, values in form.items() if len(values) == 1}
    if set(form) - {*PARAMETERS, "code"} or len(single) != len(form):
        raise TamperedForm("The form holds fields the resume page does not have. Nothing was saved.")
    ids = StudyLink(**{name: single.get(name) for name in PARAMETERS}).to_ids()
    limit.hit("resume", client_address(request), ids.participant_id)
    participant = journey.find(session, ids.participant_id)
    if participant is None:
        raise InvalidEntry("There is no place in this study for this Prolific id. Please open the study from "
                           "its link on Prolific.")
    typed = single.get("code", "")
    if not codes.matches(journey.runtime.slug, participant.pseudonym_id, typed):
        return _ask_for_code(request, journey, ids, ResumeCodeNeeded(
            "Enter the resume code shown at the bottom of every page of this study on the device you started on. "
            f"Without it, please write to the research team at {journey.contact_email}."), error=WRONG_CODE)
    entry = _enter(session, journey, ids, {}, _holder(request, journey, signer), code_proven=True)
    return _after_entry(request, journey, entry, signer, settings)
