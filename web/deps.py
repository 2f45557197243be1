"""Load-and-authorise dependencies, used by the routes as ``Annotated`` aliases.

``SessionDep`` is a database session for the request; ``JourneyDep`` the study named in the path
(404 for any other); ``ParticipantVisit`` the participant and visit the capability cookie names,
loaded and checked here once so that no route repeats it; ``FormDep`` the submitted form as
{field: [values]}.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from interviewer.admission import NotAdmitted, check_admission
from storage.blobs import BlobStore
from storage.models import Participant, Visit
from storage.text import storable
from survey.errors import NotAvailable, NotSignedIn, TamperedForm, UnknownStudy
from survey.journey import Journey
from web.capability import Signer, cookie_name
from web.limits import RateLimit, body_too_large
from web.options import WebSettings
from web.resume_code import ResumeCodes


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request; rolled back unless the route commits."""
    with request.app.state.session_factory() as session:
        yield session


def get_settings(request: Request) -> WebSettings:
    """The settings the app was created with."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_signer(request: Request) -> Signer:
    """The app's signer for capabilities and form tokens."""
    return request.app.state.signer  # type: ignore[no-any-return]


def get_blob_store(request: Request) -> BlobStore:
    """The blob store holding recordings."""
    return request.app.state.blob_store  # type: ignore[no-any-return]


def get_resume_codes(request: Request) -> ResumeCodes:
    """The app's resume codes (``web.resume_code``)."""
    return request.app.state.resume_codes  # type: ignore[no-any-return]


def get_rate_limit(request: Request) -> RateLimit:
    """The app's named rate limits (``web.limits``)."""
    return request.app.state.rate_limit  # type: ignore[no-any-return]


def client_address(request: Request) -> str | None:
    """The address the request came from (the proxy's, unless uvicorn is told to trust its headers)."""
    return request.client.host if request.client is not None else None


def get_journey(request: Request, slug: str) -> Journey:
    """The journey of the study in the path; UnknownStudy for a slug this app does not serve."""
    journey: Journey | None = getattr(request.app.state, "journey", None)
    if journey is None or slug != journey.runtime.slug:
        raise UnknownStudy("There is no study at this address. Please check the link you were given.")
    return journey


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[WebSettings, Depends(get_settings)]
SignerDep = Annotated[Signer, Depends(get_signer)]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]
JourneyDep = Annotated[Journey, Depends(get_journey)]
RateLimitDep = Annotated[RateLimit, Depends(get_rate_limit)]
ResumeCodesDep = Annotated[ResumeCodes, Depends(get_resume_codes)]


@dataclass
class ParticipantContext:
    """The participant a capability names, with their visit (None when screened out before one existed)."""

    participant: Participant
    visit: Visit | None


def get_participant_visit(request: Request, session: SessionDep, journey: JourneyDep,
                          signer: SignerDep) -> ParticipantContext:
    """Load the participant and visit named by the capability cookie; NotSignedIn when there is none valid."""
    capability = signer.read_capability(journey.runtime.slug, request.cookies.get(cookie_name(journey.runtime.slug)))
    if capability is None:
        raise NotSignedIn(
            "We could not find your place in this study in this browser. Please open the study again "
            "from its link on Prolific: you will continue where you left off."
        )
    participant = session.get(Participant, capability.participant_id)
    if (participant is None or participant.pseudonym_id != capability.pseudonym_id
            or participant.study_id != journey.study_id):
        raise NotSignedIn("Your place in this study could not be found. Please open the study again from Prolific.")
    visit = None
    if capability.visit_id is not None:
        visit = session.scalars(
            select(Visit).where(Visit.id == capability.visit_id, Visit.participant_id == participant.id)
        ).first()
        if visit is None:
            raise NotSignedIn("Your place in this study could not be found. Please open the study again from Prolific.")
    return ParticipantContext(participant, visit)


ParticipantVisit = Annotated[ParticipantContext, Depends(get_participant_visit)]


def get_interview_visit(session: SessionDep, ctx: ParticipantVisit) -> ParticipantContext:
    """The capability's visit when it may start its interview now (``interviewer.admission``); else NotAvailable."""
    if ctx.visit is None:
        raise NotAvailable("The interview is not available to you. Please go back to the study page.")
    try:
        check_admission(session, ctx.visit.id)
    except NotAdmitted:
        raise NotAvailable("The interview is not available to you now: it opens once you have signed the "
                           "consent form (including audio recording) and reached the interview step. "
                           "Please go back to the study page.") from None
    return ctx


InterviewVisit = Annotated[ParticipantContext, Depends(get_interview_visit)]

MAX_FORM_FIELDS = 400


async def read_form(request: Request) -> dict[str, list[str]]:
    """The submitted form as {field: [values]}; files and oversized forms are refused as tampering."""
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except Exception as error:  # multipart limits and malformed bodies raise various errors
        if body_too_large(error):
            raise  # answered 413 by web.limits.BodySizeLimit
        raise TamperedForm("The form could not be read. Please reload the page; nothing was saved.") from None
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            raise TamperedForm("This page does not take files. Nothing was saved.")
        # NUL and unpaired surrogates cannot be stored (PostgreSQL): cleaned here, never a 500 later
        out.setdefault(storable(key), []).append(storable(value))
    return out


FormDep = Annotated[dict[str, list[str]], Depends(read_form)]
