"""The stand-in speaks LiveKit's protocol to LiveKit's own SDKs: the Rust-backed ``livekit`` rtc SDK (the one
livekit-agents uses) joins, publishes, hears the other participant and gets their data; the server API
(``livekit-api``) dispatches and deletes rooms with signed tokens."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from livekit import api, rtc

from tests.livekit_standin import LiveKitStandIn

KEY, SECRET = "APIstandin", "s" * 40
TONE_HZ, AMPLITUDE = 440, 8000


def _token(identity: str, room: str = "room-1", secret: str = SECRET) -> str:
    return (api.AccessToken(KEY, secret).with_identity(identity)
            .with_grants(api.VideoGrants(room_join=True, room=room)).to_jwt())


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with LiveKitStandIn(KEY, SECRET) as running:
        yield running


async def _talk(url: str) -> tuple[float, list[tuple[str, bytes]], set[str]]:
    """Alice publishes a tone and a data packet; what Bob hears (mean level), receives and sees."""
    alice, bob = rtc.Room(), rtc.Room()
    levels: list[float] = []
    heard = asyncio.Event()
    received: list[tuple[str, bytes]] = []

    async def listen(track: rtc.Track) -> None:
        async for event in rtc.AudioStream(track, sample_rate=48000, num_channels=1):
            levels.append(float(np.abs(np.frombuffer(event.frame.data, np.int16)).mean()))
            if len(levels) >= 100:
                heard.set()
                return

    tasks: list[asyncio.Task[None]] = []
    bob.on("track_subscribed", lambda track, _pub, _participant: tasks.append(asyncio.create_task(listen(track))))
    bob.on("data_received", lambda packet: received.append((packet.participant.identity, packet.data)))
    await alice.connect(url, _token("alice"))
    await bob.connect(url, _token("bob"))
    source = rtc.AudioSource(48000, 1)
    await alice.local_participant.publish_track(rtc.LocalAudioTrack.create_audio_track("mic", source),
                                                rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))

    async def play() -> None:
        start = 0
        while True:
            samples = np.arange(start, start + 480)
            start += 480
            tone = (np.sin(2 * np.pi * TONE_HZ * samples / 48000) * AMPLITUDE).astype(np.int16)
            await source.capture_frame(rtc.AudioFrame(tone.tobytes(), 48000, 1, 480))

    player = asyncio.create_task(play())
    await asyncio.wait_for(heard.wait(), 30)
    await alice.local_participant.publish_data(b"hello", reliable=True)
    for _ in range(100):
        if received:
            break
        await asyncio.sleep(0.1)
    seen = set(bob.remote_participants)
    player.cancel()
    await alice.disconnect()
    await bob.disconnect()
    return float(np.mean(levels[-50:])), received, seen


def test_a_participant_hears_the_other_and_gets_their_data(server: LiveKitStandIn) -> None:
    level, received, seen = asyncio.run(asyncio.wait_for(_talk(server.url), 90))
    assert seen == {"alice"}
    assert level == pytest.approx(AMPLITUDE * 2 / np.pi, rel=0.15)  # the tone's mean level, through Opus twice
    assert received == [("alice", b"hello")]


def test_a_token_signed_with_another_secret_is_refused(server: LiveKitStandIn) -> None:
    async def join() -> None:
        await rtc.Room().connect(server.url, _token("mallory", secret="t" * 40))

    with pytest.raises(rtc.ConnectError, match="401"):
        asyncio.run(asyncio.wait_for(join(), 30))


def test_a_dispatch_is_listed_and_deleting_the_room_ends_it(server: LiveKitStandIn) -> None:
    http = server.url.replace("ws://", "http://")

    async def dispatch_then_delete() -> tuple[list[str], list[str]]:
        async with api.LiveKitAPI(http, KEY, SECRET) as client:
            await client.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(
                agent_name="interviewer", room="room-2", metadata="{}"))
            listed = [d.agent_name for d in await client.agent_dispatch.list_dispatch("room-2")]
            await client.room.delete_room(api.DeleteRoomRequest(room="room-2"))
            after = [d.agent_name for d in await client.agent_dispatch.list_dispatch("room-2")]
            return listed, after

    assert asyncio.run(dispatch_then_delete()) == (["interviewer"], [])


def test_the_server_api_refuses_a_token_of_another_secret(server: LiveKitStandIn) -> None:
    http = server.url.replace("ws://", "http://")

    async def list_with_wrong_secret() -> None:
        async with api.LiveKitAPI(http, KEY, "t" * 40) as client:
            await client.agent_dispatch.list_dispatch("room-3")

    with pytest.raises(api.TwirpError, match="invalid token"):
        asyncio.run(list_with_wrong_secret())
