"""LiveKit mode: the participant's token and the interviewer's dispatch (against a stand-in of LiveKit's
Twirp API speaking protobuf over real HTTP; no LiveKit server can be installed here)."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api

from interviewer.voice.livekit_room import (
    AGENT_NAME,
    DispatchRequest,
    LiveKitNotConfigured,
    ensure_interviewer,
    participant_token,
    room_name,
)
from interviewer.voice.options import LiveKitOptions
from tests.interviewer.voice.helpers import DispatchServer

KEY, SECRET = "APIvoxbank", "s" * 40


def configured(url: str = "wss://livekit.example.org") -> LiveKitOptions:
    return LiveKitOptions(url=url, api_key=KEY, api_secret=SECRET)


def test_the_participant_token_joins_only_the_visits_room_with_the_microphone() -> None:
    details = participant_token(configured(), visit_id=42, identity="pseudonym-7f3c")
    assert (details.url, details.room) == ("wss://livekit.example.org", "voxbank-visit-42")
    claims = api.TokenVerifier(KEY, SECRET).verify(details.token)
    assert claims.identity == "pseudonym-7f3c"
    assert claims.video is not None
    assert (claims.video.room_join, claims.video.room, claims.video.can_publish_sources) == (
        True, "voxbank-visit-42", ["microphone"])
    assert claims.room_config is not None and claims.room_config.max_participants == 2


def test_without_livekit_settings_the_reason_and_fix_are_named() -> None:
    with pytest.raises(LiveKitNotConfigured, match="set VOXBANK_LIVEKIT_URL, VOXBANK_LIVEKIT_API_KEY"):
        participant_token(LiveKitOptions(), visit_id=1, identity="p")


def test_the_job_learns_its_visit_from_the_dispatch_metadata() -> None:
    assert DispatchRequest.from_metadata(DispatchRequest(7, "short").to_metadata()) == DispatchRequest(7, "short")
    with pytest.raises(ValueError, match="the job's metadata has no visit_id"):
        DispatchRequest.from_metadata('{"room": "x"}')
    with pytest.raises(ValueError, match="the job's metadata is not JSON"):
        DispatchRequest.from_metadata("visit 7")


def test_the_interviewer_is_dispatched_once_and_again_when_its_job_has_ended(livekit_server: DispatchServer) -> None:
    settings = configured(livekit_server.url)
    assert asyncio.run(ensure_interviewer(settings, visit_id=5)) is True
    assert asyncio.run(ensure_interviewer(settings, visit_id=5)) is False  # pending: no second interviewer
    created = [call for method, call in livekit_server.calls if method == "CreateDispatch"]
    assert len(created) == 1
    assert (created[0].agent_name, created[0].room) == (AGENT_NAME, room_name(5))
    assert DispatchRequest.from_metadata(created[0].metadata).visit_id == 5
    assert created[0].restart_policy == api.JobRestartPolicy.JRP_ON_FAILURE
    # The job ends (the participant left); when they come back, a new one is dispatched.
    livekit_server.dispatches[0].state.jobs.append(api.Job(state=api.JobState(status=api.JobStatus.JS_SUCCESS)))
    assert asyncio.run(ensure_interviewer(settings, visit_id=5)) is True
