"""The voice interview: its page, and how the browser connects (``/study/{slug}/interview``).

Self-contained: mount it with ``app.include_router(interview.router)``; its lifespan (merged into
the app's by FastAPI) closes open calls and the embedded LLM server at shutdown.

* ``GET  /study/{slug}/interview``        the page (``interview.html`` + ``/static/interview.js``)
* ``POST /study/{slug}/interview/offer``  embedded mode (no ``VOXBANK_LIVEKIT_URL``): the browser's
  WebRTC offer in, the server's answer out; the interview runs in this process
* ``POST /study/{slug}/interview/token``  LiveKit mode: the room's URL and the participant's token

Each resolves the participant and visit from the capability cookie (``ParticipantVisit``); a
visit always gets its own interview, resumed wherever it was left.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from interviewer.voice.livekit_room import ensure_interviewer, participant_token
from interviewer.voice.webrtc import EmbeddedVoice, OpenElsewhere, VoiceBusy
from survey.errors import NotAvailable, ServerBusy
from web.deps import (
    InterviewVisit,
    JourneyDep,
    ParticipantContext,
    ParticipantVisit,
    RateLimitDep,
    SettingsDep,
    SignerDep,
    client_address,
)
from web.interview_facts import interview_facts
from web.options import VoiceOpener
from web.pages import base_path, render


class OfferIn(BaseModel):
    """The browser's session description (input)."""

    sdp: str = Field(max_length=20000)
    type: Literal["offer"]
    tab: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    """The page's own id, kept across reloads of the same tab."""
    take_over: bool = False
    """Move the interview here from the tab or device it is open in."""


class AnswerOut(BaseModel):
    """The server's session description (output)."""

    sdp: str
    type: Literal["answer"]


class TokenOut(BaseModel):
    """How to join the visit's LiveKit room (output)."""

    url: str
    token: str
    room: str


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    voice: EmbeddedVoice | None = getattr(app.state, "embedded_voice", None)
    if voice is not None:
        await voice.aclose()
    close = getattr(app.state, "close_voice", None)
    if close is not None:
        await asyncio.to_thread(close)


router = APIRouter(prefix="/study/{slug}/interview", lifespan=_lifespan)


async def get_embedded_voice(request: Request) -> EmbeddedVoice:
    """The process's embedded transport; the models and the LLM client are loaded on first use."""
    state = request.app.state
    if getattr(state, "embedded_voice", None) is None:
        open_voice: VoiceOpener | None = getattr(state, "open_voice", None)
        if open_voice is None:
            raise NotAvailable("This server holds no interviews; please contact the study team.")
        if getattr(state, "embedded_voice_lock", None) is None:
            state.embedded_voice_lock = asyncio.Lock()
        async with state.embedded_voice_lock:
            if getattr(state, "embedded_voice", None) is None:
                settings = state.settings
                opened = await asyncio.to_thread(open_voice, state.session_factory, state.runtime.protocol)
                state.close_voice = opened.close
                state.embedded_voice = EmbeddedVoice(opened.runtime, max_calls=settings.voice_max_calls,
                                                     connect_timeout_s=settings.voice_connect_timeout_s)
    return state.embedded_voice  # type: ignore[no-any-return]


def _visit_id(ctx: ParticipantContext) -> int:
    if ctx.visit is None or ctx.participant.status in ("withdrawn", "declined", "screened_out"):
        raise NotAvailable("The interview is not available to you. Please go back to the study page.")
    return ctx.visit.id


@router.get("")
def interview_page(request: Request, journey: JourneyDep, ctx: ParticipantVisit, settings: SettingsDep,
                   signer: SignerDep) -> Response:
    """The interview page: start, pause, resume and end; the interviewer's state, the progress and the
    subtitles; afterwards, Continue submits the interview step (the journey goes on once it has ended)."""
    visit_id = _visit_id(ctx)
    assert ctx.visit is not None
    base = base_path(request, journey.runtime.slug)
    return render(request, journey, "interview.html", {
        **interview_facts(journey),
        "title": "The interview",
        "mode": "livekit" if settings.livekit_url else "embedded",
        "offer_url": f"{base}/interview/offer",
        "token_url": f"{base}/interview/token",
        "next_url": f"{base}/step",
        "token": signer.form_token(visit_id, ctx.visit.position),
    }, signed_in=True)


@router.post("/offer")
async def offer(request: Request, ctx: InterviewVisit, settings: SettingsDep, limit: RateLimitDep) -> AnswerOut:
    """Embedded mode: answer the browser's WebRTC offer and start (or resume) the visit's interview.

    The body is read only after the capability and the door check passed, and only up to the
    offer's size limit (``web.limits``).
    """
    visit_id = _visit_id(ctx)
    limit.hit("offer", client_address(request), f"participant:{ctx.participant.id}")
    if settings.livekit_url:
        raise NotAvailable("This study runs its interviews on LiveKit; reload the page.")
    try:
        body = OfferIn.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    voice = await get_embedded_voice(request)
    try:
        _call, description = await voice.answer(body.sdp, visit_id=visit_id, tab=body.tab, take_over=body.take_over)
    except OpenElsewhere:
        raise HTTPException(409, "This interview is open in another tab or on another device.") from None
    except VoiceBusy:
        raise ServerBusy("All the interview lines of this server are in use. Please wait a minute and press "
                         "Start again; your place in the study is kept.") from None
    except ValueError:  # aiortc could not read the offer
        raise HTTPException(400, "The browser's connection offer could not be read; please reload the page.") \
            from None
    return AnswerOut(sdp=description.sdp, type="answer")


@router.post("/token")
async def token(request: Request, ctx: InterviewVisit, settings: SettingsDep, limit: RateLimitDep) -> TokenOut:
    """LiveKit mode: a token for the visit's room, with the interviewer dispatched to it."""
    visit_id = _visit_id(ctx)
    limit.hit("offer", client_address(request), f"participant:{ctx.participant.id}")
    if not settings.livekit_url:
        raise NotAvailable("This study runs its interviews without LiveKit; reload the page.")
    details = participant_token(settings.livekit, visit_id=visit_id, identity=ctx.participant.pseudonym_id)
    await ensure_interviewer(settings.livekit, visit_id=visit_id)
    return TokenOut(url=details.url, token=details.token, room=details.room)
