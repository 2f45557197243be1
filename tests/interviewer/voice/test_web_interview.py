"""The interview router: its page and its two ways in (embedded offer, LiveKit token)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from livekit import api
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.voice.session import VoiceRuntime
from interviewer.voice.webrtc import EmbeddedVoice
from protocols import Study
from storage.models import Participant
from storage.models import Study as StudyRow
from tests.interviewer.voice.helpers import DispatchServer, admitted_visit
from voxbank.settings import Settings
from voxbank.wiring import web_app
from web.capability import Signer, cookie_name
from web.routes import interview

JSON = {"Accept": "application/json"}


def make_app(settings: Settings, study: Study) -> FastAPI:
    app = web_app(settings, study=study)
    if not any(getattr(route, "path", "") == "/study/{slug}/interview" for route in app.routes):
        app.include_router(interview.router)
    return app


@pytest.fixture
def signed_in(settings: Settings, tiny_study: Study, session_factory: sessionmaker[Session]
              ) -> Iterator[tuple[TestClient, int]]:
    """A browser holding a participant's capability, on an app without a LiveKit server."""
    with TestClient(make_app(settings, tiny_study)) as client:
        yield client, _sign_in(client, settings, session_factory)


def _sign_in(client: TestClient, settings: Settings, factory: sessionmaker[Session], **visit: object) -> int:
    """A participant at their interview step with a signed consent to recording (unless ``visit`` says otherwise)."""
    with factory() as session, session.begin():
        study = session.scalars(select(StudyRow)).one()
        participant = Participant(study_id=study.id, prolific_pid=uuid.uuid4().hex[:24], pseudonym_id=str(uuid.uuid4()),
                                  status="active")
        session.add(participant)
        session.flush()
        visit = admitted_visit(session, participant, **visit)  # type: ignore[arg-type]
        cookie = Signer(settings.secret_key.get_secret_value()).capability(study.slug, participant.id,
                                                                           participant.pseudonym_id, visit.id)
        client.cookies.set(cookie_name(study.slug), cookie)
        return visit.id


def test_the_page_needs_the_participants_capability(settings: Settings, tiny_study: Study) -> None:
    with TestClient(make_app(settings, tiny_study)) as client:
        response = client.get(f"/study/{tiny_study.id}/interview", headers=JSON)
    assert response.status_code == 401
    assert response.json()["error"] == "Please open the study from your Prolific link"


def test_the_page_connects_by_embedded_webrtc_without_livekit(signed_in: tuple[TestClient, int],
                                                             tiny_study: Study) -> None:
    client, _visit = signed_in
    page = client.get(f"/study/{tiny_study.id}/interview")
    assert page.status_code == 200
    assert 'data-mode="embedded"' in page.text
    assert f'data-offer-url="/study/{tiny_study.id}/interview/offer"' in page.text
    assert '<script src="/static/interview.js"></script>' in page.text
    assert "livekit-client" not in page.text
    script = client.get("/static/interview.js")
    assert script.status_code == 200 and "RTCPeerConnection" in script.text


def test_without_livekit_there_is_no_token_and_a_malformed_offer_is_refused(
        signed_in: tuple[TestClient, int], tiny_study: Study) -> None:
    client, _visit = signed_in
    token = client.post(f"/study/{tiny_study.id}/interview/token", headers=JSON)
    assert token.status_code == 409
    assert token.json()["detail"] == "This study runs its interviews without LiveKit; reload the page."
    offer = client.post(f"/study/{tiny_study.id}/interview/offer", json={"sdp": "v=0", "type": "answer"},
                        headers=JSON)
    assert offer.status_code == 422


def test_with_livekit_the_browser_gets_a_token_and_the_interviewer_is_dispatched(
        settings: Settings, tiny_study: Study, session_factory: sessionmaker[Session],
        livekit_server: DispatchServer) -> None:
    configured = settings.model_copy(update={"livekit_url": livekit_server.url, "livekit_api_key": "APIkey",
                                             "livekit_api_secret": settings.secret_key})
    with TestClient(make_app(configured, tiny_study)) as client:
        visit_id = _sign_in(client, configured, session_factory)
        assert 'data-mode="livekit"' in client.get(f"/study/{tiny_study.id}/interview").text
        offer = client.post(f"/study/{tiny_study.id}/interview/offer", json={"sdp": "v=0", "type": "offer"},
                            headers=JSON)
        assert offer.status_code == 409
        response = client.post(f"/study/{tiny_study.id}/interview/token", headers=JSON)
    assert response.status_code == 200
    body = response.json()
    assert (body["url"], body["room"]) == (livekit_server.url, f"voxbank-visit-{visit_id}")
    claims = api.TokenVerifier("APIkey", settings.secret_key.get_secret_value()).verify(body["token"])
    assert claims.video is not None and claims.video.room == f"voxbank-visit-{visit_id}"
    assert [method for method, _ in livekit_server.calls] == ["ListDispatch", "CreateDispatch"]


NOT_ADMITTED = ("The interview is not available to you now: it opens once you have signed the consent form "
                "(including audio recording) and reached the interview step. Please go back to the study page.")


@pytest.mark.parametrize("visit", [
    {"signed": False},                              # still on the consent page, or never signed
    {"scopes": ("participate",)},                   # signed, but not to audio recording
    {"step": "consent"},                            # signed, but not yet at the interview step
    {"step": "complete"},                           # finished: past the interview step
    {"wave": 2, "step": "gss"},                     # the retest wave, which has no interview
    {"consent_withdrawn": True},                    # the consent to recording was withdrawn
], ids=["no consent", "no recording scope", "before the interview step", "after the interview step", "wave 2",
        "consent withdrawn"])
def test_only_a_visit_with_consent_to_recording_at_its_interview_step_may_start_the_interview(
        settings: Settings, tiny_study: Study, session_factory: sessionmaker[Session], livekit_server: DispatchServer,
        visit: dict[str, object]) -> None:
    configured = settings.model_copy(update={"livekit_url": livekit_server.url, "livekit_api_key": "APIkey",
                                             "livekit_api_secret": settings.secret_key})
    with TestClient(make_app(configured, tiny_study)) as client:
        _sign_in(client, configured, session_factory, **visit)
        token = client.post(f"/study/{tiny_study.id}/interview/token", headers=JSON)
        offer = client.post(f"/study/{tiny_study.id}/interview/offer", json={"sdp": "v=0", "type": "offer"},
                            headers=JSON)
    assert (token.status_code, token.json()["detail"]) == (409, NOT_ADMITTED)
    assert (offer.status_code, offer.json()["detail"]) == (409, NOT_ADMITTED)
    assert livekit_server.calls == []  # no interviewer was dispatched


def test_a_process_at_its_call_cap_answers_busy_try_again(settings: Settings, tiny_study: Study,
                                                          session_factory: sessionmaker[Session],
                                                          runtime: VoiceRuntime) -> None:
    import asyncio

    from aiortc import RTCPeerConnection

    async def one_offer() -> str:
        browser = RTCPeerConnection()
        browser.createDataChannel("voxbank")
        await browser.setLocalDescription(await browser.createOffer())
        sdp = browser.localDescription.sdp
        await browser.close()
        return sdp

    sdp = asyncio.run(one_offer())
    with TestClient(make_app(settings, tiny_study)) as client:
        client.app.state.embedded_voice = EmbeddedVoice(runtime, max_calls=1)  # type: ignore[attr-defined]
        client.app.state.embedded_voice.calls[-1] = "a call of another visit"  # type: ignore[attr-defined]
        _sign_in(client, settings, session_factory)
        busy = client.post(f"/study/{tiny_study.id}/interview/offer", json={"sdp": sdp, "type": "offer"},
                           headers=JSON)
        client.app.state.embedded_voice.calls.clear()  # type: ignore[attr-defined]
    assert busy.status_code == 503
    assert busy.json() == {"error": "Busy, please try again", "detail": (
        "All the interview lines of this server are in use. Please wait a minute and press Start again; "
        "your place in the study is kept.")}
