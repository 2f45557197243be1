"""A one-node stand-in of the LiveKit server for tests: LiveKit's real wire protocol, a small part of its features.

No LiveKit server can be installed on the test machines, so the LiveKit-mode browser test runs against
this instead. It speaks what the clients and our code send, byte for byte as LiveKit defines it:

* ``/rtc`` (WebSocket, binary protobuf ``SignalRequest``/``SignalResponse``): the v0 signalling path with
  two peer connections per participant (the server offers the subscriber one, the client the publisher
  one), ``JoinResponse`` with the subscriber as primary, trickle ICE, ``AddTrack`` -> ``TrackPublished``,
  ``ParticipantUpdate`` when others join, publish or leave, metadata and attribute updates, mute,
  ping/pong and leave. ``/rtc/v1`` (single peer connection) answers 404, as a server without it does, and
  the clients fall back to ``/rtc``.
* Media and data: each participant's published audio goes to every other participant of the room
  (aiortc decodes and re-encodes it; a new subscriber offer per added track), and ``DataPacket`` s on the
  reliable and lossy data channels go to the others (or to the packet's destination identities).
* Twirp (``/twirp/livekit.AgentDispatchService/{CreateDispatch,ListDispatch,DeleteDispatch}``,
  ``/twirp/livekit.RoomService/{DeleteRoom,ListRooms,ListParticipants}``), protobuf or JSON, each call's
  JWT checked against the API secret and its grants.
* ``/agent`` (WebSocket, ``WorkerMessage``/``ServerMessage``): worker registration, availability request
  and response, job assignment with a token, job status, termination when the room is deleted, pings.

What it does not do: video, simulcast, dynacast and adaptive streams; selective subscription (every
participant gets every track); TURN, ICE restarts and resuming a session (``reconnect=1``); E2EE;
more than one node; the egress, ingress and SIP services; restarting failed jobs; closing empty rooms
after their timeout.
"""

from tests.livekit_standin.server import LiveKitStandIn

__all__ = ["LiveKitStandIn"]
