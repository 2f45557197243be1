"""Rooms and their participants: signalling on ``/rtc``, and media and data between participants (aiortc)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from av import AudioFrame
from livekit.protocol import models, rtc

log = logging.getLogger(__name__)

SERVER_VERSION = "1.8.4"
"""What the stand-in says it is: a server from before the v1 (single peer connection) signalling path."""
PROTOCOL = 16
PING_INTERVAL_S = 5
PING_TIMEOUT_S = 15
ANSWER_TIMEOUT_S = 15.0
RELIABLE, LOSSY = "_reliable", "_lossy"


def new_sid(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def now_ms() -> int:
    return int(time.time() * 1000)


class ForwardedAudio(MediaStreamTrack):
    """A published track as one subscriber receives it: its id is the track's sid, as LiveKit's are."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack, track_sid: str) -> None:
        super().__init__()
        self._source = source
        self._track_sid = track_sid
        self.frames = 0
        self.loudest = 0
        """How many frames went out, and the loudest sample among them (what the tests read)."""

    @property
    def id(self) -> str:
        return self._track_sid

    async def recv(self) -> Any:
        frame = await self._source.recv()
        assert isinstance(frame, AudioFrame)
        self.frames += 1
        samples = frame.to_ndarray()
        if samples.size:
            self.loudest = max(self.loudest, int(np.abs(samples).max()))
        return frame


@dataclass
class Publication:
    """A track a participant published: its ``TrackInfo`` and, once the media arrived, the aiortc track."""

    info: models.TrackInfo
    cid: str
    media: MediaStreamTrack | None = None
    subscribed: bool = False
    """Whether the publisher was told its track has a subscriber (``TrackSubscribed``)."""


@dataclass
class Participant:
    """One connection on ``/rtc``: its two peer connections and what it published."""

    room: Room
    ws: web.WebSocketResponse
    identity: str
    name: str
    metadata: str
    attributes: dict[str, str]
    kind: models.ParticipantInfo.Kind
    permission: models.ParticipantPermission
    sid: str = field(default_factory=lambda: new_sid("PA"))
    joined_at: int = field(default_factory=lambda: int(time.time()))
    version: int = 1
    publications: dict[str, Publication] = field(default_factory=dict)
    """By track sid."""
    publisher: RTCPeerConnection | None = None
    subscriber: RTCPeerConnection = field(default_factory=RTCPeerConnection)
    channels: dict[str, RTCDataChannel] = field(default_factory=dict)
    """The subscriber's data channels by label: what the server sends this participant."""
    forwarded: dict[str, ForwardedAudio] = field(default_factory=dict)
    """The tracks added to the subscriber connection, by sid."""
    negotiation: asyncio.Lock = field(default_factory=asyncio.Lock)
    answer: asyncio.Future[rtc.SessionDescription] | None = None
    offer_id: int = 0
    closed: bool = False
    disconnect_reason: models.DisconnectReason = models.UNKNOWN_REASON
    session: Signalling | None = None

    def info(self) -> models.ParticipantInfo:
        return models.ParticipantInfo(
            sid=self.sid, identity=self.identity, name=self.name, metadata=self.metadata,
            attributes=self.attributes, kind=self.kind, permission=self.permission, version=self.version,
            joined_at=self.joined_at, joined_at_ms=self.joined_at * 1000, is_publisher=bool(self.publications),
            state=models.ParticipantInfo.DISCONNECTED if self.closed else models.ParticipantInfo.ACTIVE,
            disconnect_reason=self.disconnect_reason,
            tracks=[publication.info for publication in self.publications.values()])

    async def send(self, response: rtc.SignalResponse) -> None:
        if self.ws.closed:
            return
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await self.ws.send_bytes(response.SerializeToString())


class Room:
    """A room of the one node: participants by identity, and the relay their tracks go through."""

    def __init__(self, name: str, *, empty_timeout: int = 300, departure_timeout: int = 20,
                 max_participants: int = 0, metadata: str = "") -> None:
        self.name = name
        self.sid = new_sid("RM")
        self.created_at = int(time.time())
        self.empty_timeout = empty_timeout
        self.departure_timeout = departure_timeout
        self.max_participants = max_participants
        self.metadata = metadata
        self.participants: dict[str, Participant] = {}
        self.relay = MediaRelay()
        self.closed = False

    def info(self) -> models.Room:
        return models.Room(sid=self.sid, name=self.name, empty_timeout=self.empty_timeout,
                           departure_timeout=self.departure_timeout, max_participants=self.max_participants,
                           creation_time=self.created_at, creation_time_ms=self.created_at * 1000,
                           metadata=self.metadata, num_participants=len(self.participants),
                           num_publishers=sum(1 for p in self.participants.values() if p.publications),
                           active_recording=False)

    def others(self, participant: Participant) -> list[Participant]:
        return [p for p in self.participants.values() if p is not participant and not p.closed]

    async def broadcast(self, participant: Participant, *, to_self: bool = False) -> None:
        """Tell the room (and, with ``to_self``, the participant) what ``participant`` is now."""
        update = rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[participant.info()]))
        targets = self.others(participant) + ([participant] if to_self and not participant.closed else [])
        await asyncio.gather(*(target.send(update) for target in targets))


class Signalling:
    """One participant's session on ``/rtc``, from the join to the leave."""

    def __init__(self, participant: Participant) -> None:
        self.p = participant
        self.room = participant.room
        participant.session = self
        self._early: dict[int, list[rtc.TrickleRequest]] = {rtc.PUBLISHER: [], rtc.SUBSCRIBER: []}
        """Candidates that came before the description they belong to (applied once it is set)."""
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("stand-in task %s failed", task.get_name(), exc_info=task.exception())

    async def run(self, auto_subscribe: bool) -> None:
        p, room = self.p, self.room
        others = room.others(p)
        await p.send(rtc.SignalResponse(join=rtc.JoinResponse(
            room=room.info(), participant=p.info(), other_participants=[o.info() for o in others],
            server_version=SERVER_VERSION, subscriber_primary=True, ping_timeout=PING_TIMEOUT_S,
            ping_interval=PING_INTERVAL_S, server_region="standin",
            server_info=models.ServerInfo(edition=models.ServerInfo.Standard, version=SERVER_VERSION,
                                          protocol=PROTOCOL, region="standin", node_id="ND_standin"),
            enabled_publish_codecs=[models.Codec(mime="audio/opus")])))
        self._open_subscriber()
        await room.broadcast(p)
        tracks = [pub for other in others for pub in other.publications.values() if pub.media is not None]
        self._spawn(self.renegotiate(tracks if auto_subscribe else []), "standin.first-offer")
        try:
            async for message in p.ws:
                if message.type != web.WSMsgType.BINARY:
                    continue
                request = rtc.SignalRequest.FromString(message.data)
                if await self.handle(request) is False:
                    break
        finally:
            # without a leave the connection dropped; LiveKit would wait for a resume, which is not served here
            await self.close(models.SIGNAL_CLOSE if p.disconnect_reason == models.UNKNOWN_REASON else None)

    # ------------------------------------------------------------------ the subscriber connection

    def _open_subscriber(self) -> None:
        p = self.p
        p.channels[RELIABLE] = p.subscriber.createDataChannel(RELIABLE, ordered=True)
        p.channels[LOSSY] = p.subscriber.createDataChannel(LOSSY, ordered=False, maxRetransmits=0)

    def forward(self, publisher: Participant, publication: Publication) -> None:
        """Send ``publication`` to this participant (a new subscriber offer)."""
        self._spawn(self.renegotiate([publication], publisher), "standin.forward")

    async def renegotiate(self, publications: list[Publication], publisher: Participant | None = None) -> None:
        p = self.p
        async with p.negotiation:
            if p.closed:
                return
            added: list[tuple[Participant, Publication]] = []
            for publication in publications:
                owner = publisher or self._owner(publication)
                if publication.info.sid in p.forwarded or publication.media is None or owner is None:
                    continue
                track = ForwardedAudio(self.room.relay.subscribe(publication.media, buffered=False),
                                       publication.info.sid)
                p.forwarded[publication.info.sid] = track
                added.append((owner, publication))
                transceiver = p.subscriber.addTransceiver(track, direction="sendonly")
                # the clients find the publisher and the track in the stream id: "<participant sid>|<track sid>"
                transceiver.sender._stream_id = f"{owner.sid}|{publication.info.sid}"
            offer = await p.subscriber.createOffer()
            await p.subscriber.setLocalDescription(offer)
            p.offer_id += 1
            local = p.subscriber.localDescription
            mids = {t.mid: t.sender.track.id for t in p.subscriber.getTransceivers()
                    if t.mid is not None and t.sender.track is not None}
            p.answer = asyncio.get_running_loop().create_future()
            await p.send(rtc.SignalResponse(offer=rtc.SessionDescription(
                type="offer", sdp=local.sdp, id=p.offer_id, mid_to_track_id=mids)))
            try:
                await asyncio.wait_for(p.answer, ANSWER_TIMEOUT_S)
            except TimeoutError:
                log.warning("participant %s did not answer the subscriber offer", p.identity)
                return
            # the first subscriber: the publisher learns it (the agents' audio output waits for this to play)
            for owner, publication in added:
                if not publication.subscribed:
                    publication.subscribed = True
                    await owner.send(rtc.SignalResponse(track_subscribed=rtc.TrackSubscribed(
                        track_sid=publication.info.sid)))

    def _owner(self, publication: Publication) -> Participant | None:
        return next((o for o in self.room.others(self.p) if publication.info.sid in o.publications), None)

    # ------------------------------------------------------------------ requests

    async def handle(self, request: rtc.SignalRequest) -> bool:
        p = self.p
        which = request.WhichOneof("message")
        if which == "offer":
            await self._publisher_offer(request.offer)
        elif which == "answer":
            await p.subscriber.setRemoteDescription(RTCSessionDescription(request.answer.sdp, "answer"))
            await self._apply_early(rtc.SUBSCRIBER)
            if p.answer is not None and not p.answer.done():
                p.answer.set_result(request.answer)
        elif which == "trickle":
            await self._trickle(request.trickle)
        elif which == "add_track":
            await self._add_track(request.add_track)
        elif which == "mute":
            for publication in p.publications.values():
                if publication.info.sid == request.mute.sid:
                    publication.info.muted = request.mute.muted
            p.version += 1
            await self.room.broadcast(p)
        elif which == "update_metadata":
            update = request.update_metadata
            if update.name:
                p.name = update.name
            if update.metadata:
                p.metadata = update.metadata
            for key, value in update.attributes.items():
                if value:
                    p.attributes[key] = value
                else:
                    p.attributes.pop(key, None)
            p.version += 1
            await self.room.broadcast(p, to_self=True)
            if update.request_id:
                await p.send(rtc.SignalResponse(request_response=rtc.RequestResponse(
                    request_id=update.request_id, reason=rtc.RequestResponse.OK)))
        elif which == "ping":
            await p.send(rtc.SignalResponse(pong=now_ms()))
        elif which == "ping_req":
            await p.send(rtc.SignalResponse(pong_resp=rtc.Pong(last_ping_timestamp=request.ping_req.timestamp,
                                                               timestamp=now_ms())))
        elif which == "leave":
            p.disconnect_reason = models.CLIENT_INITIATED  # leaving for good (an agent ends its session)
            return False
        # subscription, track settings, layers, permissions, sync state, simulate: every participant
        # gets every track here, and there is no reconnection to sync, so these change nothing.
        return True

    async def _publisher_offer(self, offer: rtc.SessionDescription) -> None:
        p = self.p
        if p.publisher is None:
            p.publisher = RTCPeerConnection()
            p.publisher.on("datachannel", self._on_datachannel)
            p.publisher.on("track", self._on_track)
        await p.publisher.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        await self._apply_early(rtc.PUBLISHER)
        answer = await p.publisher.createAnswer()
        await p.publisher.setLocalDescription(answer)
        await p.send(rtc.SignalResponse(answer=rtc.SessionDescription(
            type="answer", sdp=p.publisher.localDescription.sdp, id=offer.id)))

    async def _apply_early(self, target: int) -> None:
        early, self._early[target] = self._early[target], []
        for trickle in early:
            await self._trickle(trickle)

    async def _trickle(self, trickle: rtc.TrickleRequest) -> None:
        connection = self.p.publisher if trickle.target == rtc.PUBLISHER else self.p.subscriber
        init = json.loads(trickle.candidateInit or "{}")
        text = init.get("candidate") or ""
        if not text:
            return
        if connection is None or connection.remoteDescription is None:
            # a client may send its candidates before the answer (or the offer) they belong to
            self._early[trickle.target].append(trickle)
            return
        candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
        candidate.sdpMid = init.get("sdpMid")
        candidate.sdpMLineIndex = init.get("sdpMLineIndex")
        try:
            await connection.addIceCandidate(candidate)
        except (ValueError, KeyError) as error:  # a candidate for a section this connection does not have
            log.info("ignored ICE candidate %s: %s", text, error)

    async def _add_track(self, request: rtc.AddTrackRequest) -> None:
        p = self.p
        if request.type != models.AUDIO:
            log.warning("participant %s asked to publish a %s track; the stand-in carries audio only",
                        p.identity, models.TrackType.Name(request.type))
        info = models.TrackInfo(sid=new_sid("TR"), type=request.type, name=request.name, muted=request.muted,
                                source=request.source, mime_type="audio/opus", stream=request.stream,
                                stereo=request.stereo, disable_dtx=request.disable_dtx,
                                disable_red=True, audio_features=request.audio_features)
        p.publications[info.sid] = Publication(info=info, cid=request.cid)
        await p.send(rtc.SignalResponse(track_published=rtc.TrackPublishedResponse(cid=request.cid, track=info)))

    # ------------------------------------------------------------------ the publisher connection

    def _on_track(self, track: MediaStreamTrack) -> None:
        p = self.p
        pending = [pub for pub in p.publications.values() if pub.media is None and pub.info.type == models.AUDIO]
        publication = next((pub for pub in pending if pub.cid == track.id), pending[0] if pending else None)
        if track.kind != "audio" or publication is None:
            log.warning("participant %s sent a %s track nobody published", p.identity, track.kind)
            return
        publication.media = track
        p.version += 1
        self._spawn(self._published(publication), "standin.published")

    async def _published(self, publication: Publication) -> None:
        await self.room.broadcast(self.p, to_self=True)
        for other in self.room.others(self.p):
            if other.session is not None:
                other.session.forward(self.p, publication)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        channel.on("message", lambda data: self._data(channel, data))

    def _data(self, channel: RTCDataChannel, data: bytes | str) -> None:
        if isinstance(data, str):
            return
        packet = models.DataPacket.FromString(data)
        packet.participant_identity = self.p.identity
        packet.participant_sid = self.p.sid
        if packet.HasField("user"):
            packet.user.participant_sid = self.p.sid
            packet.user.participant_identity = self.p.identity
        label = LOSSY if channel.label == LOSSY or packet.kind == models.DataPacket.LOSSY else RELIABLE
        wanted = set(packet.destination_identities) or set(packet.user.destination_identities)
        payload = packet.SerializeToString()
        for other in self.room.others(self.p):
            if wanted and other.identity not in wanted:
                continue
            out = other.channels.get(label)
            if out is not None and out.readyState == "open":
                out.send(payload)

    # ------------------------------------------------------------------ leaving

    async def close(self, reason: models.DisconnectReason | None = None) -> None:
        p = self.p
        if p.closed:
            return
        p.closed = True
        if reason is not None:
            p.disconnect_reason = reason
        if reason is not None and reason != models.SIGNAL_CLOSE:
            await p.send(rtc.SignalResponse(leave=rtc.LeaveRequest(
                can_reconnect=False, reason=reason, action=rtc.LeaveRequest.DISCONNECT)))
        if self.room.participants.get(p.identity) is p:
            del self.room.participants[p.identity]
        p.version += 1
        await self.room.broadcast(p)
        for task in list(self._tasks):
            task.cancel()
        for connection in (p.publisher, p.subscriber):
            if connection is not None:
                await connection.close()
        if not p.ws.closed:
            await p.ws.close()

