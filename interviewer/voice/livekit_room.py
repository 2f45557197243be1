"""Production transport: a LiveKit room per visit, joined by the browser and by the interviewer agent.

The web app mints the participant's access token (`participant_token`): it may join only the
visit's room, publish its microphone and subscribe. `ensure_interviewer` dispatches the interviewer
agent by name (`AGENT_NAME`) to that room, with the visit in the dispatch metadata, unless a job of
it is already pending or running there; every (re)join asks, so a participant who comes back to a
room whose job has ended gets a new one. Dispatches carry LiveKit's restart policy "on failure": a
job that crashes is dispatched again. Either way the new job resumes the interview from the
conductor's checkpoint.

Access tokens and dispatch use ``VOXBANK_LIVEKIT_URL``, ``VOXBANK_LIVEKIT_API_KEY`` and
``VOXBANK_LIVEKIT_API_SECRET``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from livekit import api

from interviewer.voice.options import LiveKitOptions

AGENT_NAME = "voxbank-interviewer"
"""The name the interviewer's ``AgentServer`` registers under; dispatch is explicit by this name."""
TOKEN_TTL = timedelta(hours=6)
EMPTY_TIMEOUT_S = 120
"""A room nobody is in is closed after this long; the next join creates (and dispatches) it anew."""
DEPARTURE_TIMEOUT_S = 300
"""After the last participant leaves, the room waits this long for them to come back."""


class LiveKitNotConfigured(RuntimeError):
    """LiveKit mode was asked for without ``VOXBANK_LIVEKIT_URL`` and its key and secret."""


@dataclass(frozen=True)
class DispatchRequest:
    """What the interviewer job needs to know about its room (the dispatch metadata, as JSON)."""

    visit_id: int
    guide_id: str | None = None

    def to_metadata(self) -> str:
        return json.dumps({"visit_id": self.visit_id, "guide_id": self.guide_id})

    @classmethod
    def from_metadata(cls, metadata: str) -> DispatchRequest:
        """Parse a job's metadata; ValueError naming the problem when it is not ours."""
        try:
            data: Any = json.loads(metadata or "{}")
        except json.JSONDecodeError:
            raise ValueError("the job's metadata is not JSON; dispatch the interviewer through voxbank") from None
        if not isinstance(data, dict) or not isinstance(data.get("visit_id"), int):
            raise ValueError("the job's metadata has no visit_id; dispatch the interviewer through voxbank")
        guide = data.get("guide_id")
        return cls(visit_id=data["visit_id"], guide_id=guide if isinstance(guide, str) else None)


@dataclass(frozen=True)
class ConnectionDetails:
    """What the browser needs to join: the server URL, its token and the room."""

    url: str
    token: str
    room: str


def room_name(visit_id: int) -> str:
    """The visit's room: the same on every rejoin, so the interview goes on where it was."""
    return f"voxbank-visit-{visit_id}"


def _credentials(livekit: LiveKitOptions) -> tuple[str, str, str]:
    if not (livekit.url and livekit.api_key and livekit.api_secret):
        raise LiveKitNotConfigured("LiveKit is not configured: set VOXBANK_LIVEKIT_URL, VOXBANK_LIVEKIT_API_KEY "
                                   "and VOXBANK_LIVEKIT_API_SECRET (without them the browser uses embedded WebRTC)")
    return livekit.url, livekit.api_key, livekit.api_secret


def participant_token(livekit: LiveKitOptions, *, visit_id: int, identity: str) -> ConnectionDetails:
    """A token for the participant (``identity``: their pseudonym, never their Prolific id) to join the visit's room."""
    url, key, secret = _credentials(livekit)
    room = room_name(visit_id)
    token = (api.AccessToken(key, secret)
             .with_identity(identity)
             .with_name("participant")
             .with_ttl(TOKEN_TTL)
             .with_grants(api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                                          can_publish_data=True,
                                          can_publish_sources=["microphone"]))
             .with_room_config(api.RoomConfiguration(empty_timeout=EMPTY_TIMEOUT_S,
                                                     departure_timeout=DEPARTURE_TIMEOUT_S, max_participants=2))
             .to_jwt())
    return ConnectionDetails(url=url, token=token, room=room)


async def ensure_interviewer(livekit: LiveKitOptions, *, visit_id: int, guide_id: str | None = None) -> bool:
    """Dispatch the interviewer to the visit's room unless a job of it is pending or running there;
    True when a dispatch was made."""
    url, key, secret = _credentials(livekit)
    room = room_name(visit_id)
    live = (api.JobStatus.JS_PENDING, api.JobStatus.JS_RUNNING)
    async with api.LiveKitAPI(url, key, secret) as client:
        existing = await client.agent_dispatch.list_dispatch(room)
        for dispatch in existing:
            jobs = list(dispatch.state.jobs)
            if dispatch.agent_name == AGENT_NAME and (not jobs or any(job.state.status in live for job in jobs)):
                return False
        await client.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(
            agent_name=AGENT_NAME, room=room, metadata=DispatchRequest(visit_id, guide_id).to_metadata(),
            restart_policy=api.JobRestartPolicy.JRP_ON_FAILURE))
        return True


async def end_room(livekit: LiveKitOptions, *, visit_id: int) -> None:
    """Close the visit's room (the participant withdrew): LiveKit disconnects everyone and the job ends."""
    url, key, secret = _credentials(livekit)
    async with api.LiveKitAPI(url, key, secret) as client:
        await client.room.delete_room(api.DeleteRoomRequest(room=room_name(visit_id)))
