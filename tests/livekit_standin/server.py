"""The stand-in's HTTP side (aiohttp): ``/rtc``, ``/agent`` and the Twirp services, run in a thread of its own."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message
from livekit import api
from livekit.api.access_token import Claims
from livekit.protocol import agent_dispatch, models
from livekit.protocol import room as room_service

from tests.livekit_standin.agents import Dispatcher
from tests.livekit_standin.rooms import Participant, Room, Signalling

log = logging.getLogger(__name__)

KINDS = {"": models.ParticipantInfo.STANDARD, "standard": models.ParticipantInfo.STANDARD,
         "agent": models.ParticipantInfo.AGENT, "ingress": models.ParticipantInfo.INGRESS,
         "egress": models.ParticipantInfo.EGRESS, "sip": models.ParticipantInfo.SIP}


class TwirpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class LiveKitStandIn:
    """A LiveKit node on ``127.0.0.1``: ``with LiveKitStandIn(key, secret) as server: server.url``."""

    def __init__(self, api_key: str, api_secret: str, *, port: int = 0) -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self.port = port or _free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.rooms: dict[str, Room] = {}
        self.dispatcher = Dispatcher(self.url, api_key, api_secret)
        self.joined: list[tuple[str, str]] = []
        """``(room, identity)`` of every participant that joined (for tests)."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_cors])
        app.router.add_get("/rtc", self._rtc)
        app.router.add_get("/rtc/validate", self._validate)
        app.router.add_get("/agent", self._agent)
        app.router.add_post("/twirp/livekit.AgentDispatchService/{method}", self._twirp_dispatch)
        app.router.add_post("/twirp/livekit.RoomService/{method}", self._twirp_room)
        # /rtc/v1 (one peer connection) is not served: the clients read the 404 and use /rtc
        return app

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(self.app(), handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        for room in list(self.rooms.values()):
            await self._close_room(room)
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> LiveKitStandIn:
        def serve() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:  # reported to the thread that started it
                self._failure = error
                self._started.set()
                return
            self._started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True, name="livekit-standin")
        self._thread.start()
        self._started.wait(30)
        if self._failure is not None:
            raise RuntimeError(f"the LiveKit stand-in did not start: {self._failure}") from self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def describe(self) -> str:
        """The rooms, who is in them, what each published (and whether its media arrived) and was sent."""
        lines = []
        for room in list(self.rooms.values()):
            lines.append(f"room {room.name} ({room.sid})")
            for p in list(room.participants.values()):
                tracks = ", ".join(f"{sid} {'media' if pub.media is not None else 'no media yet'}"
                                   for sid, pub in list(p.publications.items()))
                received = ", ".join(f"{sid} ({track.frames} frames, loudest {track.loudest})"
                                     for sid, track in list(p.forwarded.items()))
                lines.append(f"  {p.identity} kind={p.kind} published [{tracks}] receives {received} "
                             f"publisher={p.publisher.connectionState if p.publisher else None} "
                             f"subscriber={p.subscriber.connectionState}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ auth

    def _claims(self, token: str) -> Claims:
        try:
            return api.TokenVerifier(self.api_key, self.api_secret).verify(token)
        except (jwt.PyJWTError, ValueError, KeyError) as error:
            raise TwirpError(401, "unauthenticated", f"invalid token: {error}") from None

    def _join_claims(self, request: web.Request) -> Claims:
        """The token of a join: the JavaScript client puts it in the query, the Rust one in the header."""
        token = request.query.get("access_token")
        return self._claims(token) if token else self._bearer(request)

    def _bearer(self, request: web.Request) -> Claims:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise TwirpError(401, "unauthenticated", "no authorization header")
        return self._claims(header.removeprefix("Bearer "))

    # ------------------------------------------------------------------ /rtc

    async def _validate(self, request: web.Request) -> web.Response:
        try:
            claims = self._join_claims(request)
        except TwirpError as error:
            return web.Response(status=401, text=str(error))
        if claims.video is None or not claims.video.room_join:
            return web.Response(status=401, text="permissions denied")
        return web.Response(text="success")

    async def _rtc(self, request: web.Request) -> web.StreamResponse:
        try:
            claims = self._join_claims(request)
        except TwirpError as error:
            return web.Response(status=401, text=str(error))
        grant = claims.video
        if grant is None or not grant.room_join or not grant.room or not claims.identity:
            return web.Response(status=401, text="the token does not grant joining a room")
        if request.query.get("reconnect") == "1":
            return web.Response(status=400, text="the stand-in does not resume sessions; join anew")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        room = self._room(grant.room, claims.room_config)
        previous = room.participants.get(claims.identity)
        if previous is not None and previous.session is not None:
            await previous.session.close(models.DUPLICATE_IDENTITY)
        if room.max_participants and len(room.participants) >= room.max_participants:
            await ws.close(code=1008, message=b"the room is full")
            return ws
        permission = models.ParticipantPermission(
            can_subscribe=grant.can_subscribe is not False, can_publish=grant.can_publish is not False,
            can_publish_data=grant.can_publish_data is not False, hidden=bool(grant.hidden),
            can_update_metadata=bool(grant.can_update_own_metadata), agent=bool(grant.agent),
            can_publish_sources=[_source(name) for name in grant.can_publish_sources or []])
        participant = Participant(room=room, ws=ws, identity=claims.identity, name=claims.name or "",
                                  metadata=claims.metadata or "", attributes=dict(claims.attributes or {}),
                                  kind=KINDS.get(claims.kind or "", models.ParticipantInfo.STANDARD),
                                  permission=permission)
        room.participants[participant.identity] = participant
        self.joined.append((room.name, participant.identity))
        session = Signalling(participant)
        await session.run(auto_subscribe=request.query.get("auto_subscribe", "1") != "0")
        return ws

    def _room(self, name: str, config: Any = None) -> Room:
        room = self.rooms.get(name)
        if room is None:
            room = Room(name, empty_timeout=getattr(config, "empty_timeout", 0) or 300,
                        departure_timeout=getattr(config, "departure_timeout", 0) or 20,
                        max_participants=getattr(config, "max_participants", 0) or 0)
            self.rooms[name] = room
        return room

    async def _close_room(self, room: Room) -> None:
        room.closed = True
        for participant in list(room.participants.values()):
            if participant.session is not None:
                await participant.session.close(models.ROOM_DELETED)
        await self.dispatcher.terminate_room(room.name)
        self.rooms.pop(room.name, None)

    # ------------------------------------------------------------------ /agent

    async def _agent(self, request: web.Request) -> web.StreamResponse:
        try:
            claims = self._bearer(request)
        except TwirpError as error:
            return web.Response(status=error.status, text=str(error))
        if claims.video is None or not claims.video.agent:
            return web.Response(status=401, text="the token does not grant registering an agent")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        await self.dispatcher.serve(ws)
        return ws

    # ------------------------------------------------------------------ Twirp

    async def _twirp(self, request: web.Request, handlers: dict[str, tuple[type[Message], Callable[..., Any]]]) \
            -> web.Response:
        method = request.match_info["method"]
        try:
            if method not in handlers:
                raise TwirpError(404, "bad_route", f"no method {method}")
            claims = self._bearer(request)
            kind, handler = handlers[method]
            body = await request.read()
            as_json = request.content_type == "application/json"
            message = json_format.Parse(body or b"{}", kind()) if as_json else kind.FromString(body)
            reply: Message = await handler(claims, message)
        except TwirpError as error:
            return web.json_response({"code": error.code, "msg": str(error)}, status=error.status)
        if as_json:
            return web.Response(text=json_format.MessageToJson(reply), content_type="application/json")
        return web.Response(body=reply.SerializeToString(), content_type="application/protobuf")

    async def _twirp_dispatch(self, request: web.Request) -> web.Response:
        return await self._twirp(request, {
            "CreateDispatch": (agent_dispatch.CreateAgentDispatchRequest, self._create_dispatch),
            "ListDispatch": (agent_dispatch.ListAgentDispatchRequest, self._list_dispatch),
            "DeleteDispatch": (agent_dispatch.DeleteAgentDispatchRequest, self._delete_dispatch),
        })

    async def _twirp_room(self, request: web.Request) -> web.Response:
        return await self._twirp(request, {
            "DeleteRoom": (room_service.DeleteRoomRequest, self._delete_room),
            "ListRooms": (room_service.ListRoomsRequest, self._list_rooms),
            "ListParticipants": (room_service.ListParticipantsRequest, self._list_participants),
        })

    @staticmethod
    def _admin(claims: Claims, room: str) -> None:
        if claims.video is None or not claims.video.room_admin or claims.video.room != room:
            raise TwirpError(401, "unauthenticated", f"the token does not grant administering room {room!r}")

    async def _create_dispatch(self, claims: Claims, request: agent_dispatch.CreateAgentDispatchRequest) \
            -> agent_dispatch.AgentDispatch:
        self._admin(claims, request.room)
        if not request.room:
            raise TwirpError(400, "invalid_argument", "room name is required")
        return self.dispatcher.create(request, self._room(request.room).info())

    async def _list_dispatch(self, claims: Claims, request: agent_dispatch.ListAgentDispatchRequest) \
            -> agent_dispatch.ListAgentDispatchResponse:
        self._admin(claims, request.room)
        found = [d for d in self.dispatcher.in_room(request.room)
                 if not request.dispatch_id or d.id == request.dispatch_id]
        return agent_dispatch.ListAgentDispatchResponse(agent_dispatches=found)

    async def _delete_dispatch(self, claims: Claims, request: agent_dispatch.DeleteAgentDispatchRequest) \
            -> agent_dispatch.AgentDispatch:
        self._admin(claims, request.room)
        deleted = self.dispatcher.delete(request.dispatch_id)
        if deleted is None:
            raise TwirpError(404, "not_found", "dispatch not found")
        return deleted

    async def _delete_room(self, claims: Claims, request: room_service.DeleteRoomRequest) \
            -> room_service.DeleteRoomResponse:
        if claims.video is None or not claims.video.room_create:
            raise TwirpError(401, "unauthenticated", "the token does not grant deleting rooms")
        room = self.rooms.get(request.room)
        if room is None:
            raise TwirpError(404, "not_found", "requested room does not exist")
        await self._close_room(room)
        return room_service.DeleteRoomResponse()

    async def _list_rooms(self, claims: Claims, request: room_service.ListRoomsRequest) \
            -> room_service.ListRoomsResponse:
        if claims.video is None or not claims.video.room_list:
            raise TwirpError(401, "unauthenticated", "the token does not grant listing rooms")
        names = set(request.names)
        return room_service.ListRoomsResponse(rooms=[room.info() for room in self.rooms.values()
                                                     if not names or room.name in names])

    async def _list_participants(self, claims: Claims, request: room_service.ListParticipantsRequest) \
            -> room_service.ListParticipantsResponse:
        self._admin(claims, request.room)
        room = self.rooms.get(request.room)
        if room is None:
            raise TwirpError(404, "not_found", "requested room does not exist")
        return room_service.ListParticipantsResponse(participants=[p.info() for p in room.participants.values()])


@web.middleware
async def _cors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) \
        -> web.StreamResponse:
    """Browsers read LiveKit's HTTP answers from other origins (livekit-client's /rtc/validate after a
    failed join): every answer, the 404 of /rtc/v1/validate included, allows any origin, as LiveKit's do."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers["Access-Control-Allow-Origin"] = "*"
        raise
    if not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _source(name: str) -> models.TrackSource:
    """A grant's source name ("microphone") as the protocol's enum."""
    sources = {"camera": models.CAMERA, "microphone": models.MICROPHONE, "screen_share": models.SCREEN_SHARE,
               "screen_share_audio": models.SCREEN_SHARE_AUDIO}
    return sources.get(name.lower(), models.UNKNOWN)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
