"""Agent workers on ``/agent`` and explicit dispatch: a dispatch becomes a job offered to a registered worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from aiohttp import web
from livekit import api
from livekit.protocol import agent, agent_dispatch, models

from tests.livekit_standin.rooms import new_sid, now_ms

log = logging.getLogger(__name__)

AVAILABILITY_TIMEOUT_S = 10.0


@dataclass
class Worker:
    """A registered agent server (``RegisterWorkerRequest``) and its connection."""

    ws: web.WebSocketResponse
    agent_name: str
    permissions: models.ParticipantPermission
    id: str = field(default_factory=lambda: new_sid("AW"))
    load: float = 0.0
    full: bool = False
    availability: dict[str, asyncio.Future[agent.AvailabilityResponse]] = field(default_factory=dict)

    async def send(self, message: agent.ServerMessage) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await self.ws.send_bytes(message.SerializeToString())


class Dispatcher:
    """The node's dispatches and jobs; hands each dispatch's job to a worker of its agent name."""

    def __init__(self, url: str, api_key: str, api_secret: str) -> None:
        self.url = url
        self._key, self._secret = api_key, api_secret
        self.workers: list[Worker] = []
        self.dispatches: dict[str, agent_dispatch.AgentDispatch] = {}
        self.jobs: dict[str, agent.Job] = {}
        self.assignments: list[agent.JobAssignment] = []
        """Every job handed to a worker (for tests)."""
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ dispatch (Twirp)

    def create(self, request: agent_dispatch.CreateAgentDispatchRequest, room: models.Room) -> \
            agent_dispatch.AgentDispatch:
        dispatch = agent_dispatch.AgentDispatch(
            id=new_sid("AD"), agent_name=request.agent_name, room=request.room, metadata=request.metadata,
            state=agent_dispatch.AgentDispatchState(created_at=time.time_ns()))
        self.dispatches[dispatch.id] = dispatch
        task = asyncio.create_task(self._offer(dispatch.id, room), name="standin.dispatch")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return dispatch

    def in_room(self, room: str) -> list[agent_dispatch.AgentDispatch]:
        return [d for d in self.dispatches.values() if d.room == room]

    def delete(self, dispatch_id: str) -> agent_dispatch.AgentDispatch | None:
        return self.dispatches.pop(dispatch_id, None)

    async def _offer(self, dispatch_id: str, room: models.Room) -> None:
        """Offer the dispatch's job to each worker of its name until one accepts (AvailabilityRequest)."""
        dispatch = self.dispatches[dispatch_id]
        job = agent.Job(id=new_sid("AJ"), dispatch_id=dispatch.id, type=agent.JT_ROOM, room=room,
                        metadata=dispatch.metadata, agent_name=dispatch.agent_name,
                        state=agent.JobState(status=agent.JS_PENDING, updated_at=time.time_ns()))
        for worker in [w for w in self.workers if w.agent_name == dispatch.agent_name and not w.full]:
            answer = asyncio.get_running_loop().create_future()
            worker.availability[job.id] = answer
            await worker.send(agent.ServerMessage(availability=agent.AvailabilityRequest(job=job)))
            try:
                response = await asyncio.wait_for(answer, AVAILABILITY_TIMEOUT_S)
            except TimeoutError:
                log.warning("worker %s did not answer the availability request of job %s", worker.id, job.id)
                continue
            finally:
                worker.availability.pop(job.id, None)
            if not response.available:
                continue
            identity = response.participant_identity or f"agent-{job.id}"
            token = (api.AccessToken(self._key, self._secret)
                     .with_identity(identity)
                     .with_name(response.participant_name)
                     .with_metadata(response.participant_metadata)
                     .with_attributes(dict(response.participant_attributes))
                     .with_kind("agent")
                     .with_grants(api.VideoGrants(
                         room_join=True, room=room.name, agent=True,
                         can_publish=worker.permissions.can_publish,
                         can_subscribe=worker.permissions.can_subscribe,
                         can_publish_data=worker.permissions.can_publish_data,
                         can_update_own_metadata=worker.permissions.can_update_metadata,
                         hidden=worker.permissions.hidden))
                     .to_jwt())
            job.state.participant_identity = identity
            job.state.worker_id = worker.id
            self.jobs[job.id] = job
            dispatch.state.jobs.append(job)
            assignment = agent.JobAssignment(job=job, url=self.url, token=token)
            self.assignments.append(assignment)
            await worker.send(agent.ServerMessage(assignment=assignment))
            return
        log.warning("no worker named %r took the job of dispatch %s", dispatch.agent_name, dispatch.id)

    def _job_state(self, job_id: str) -> agent.JobState | None:
        """The job's state as stored in its dispatch (what ListDispatch returns)."""
        for dispatch in self.dispatches.values():
            for job in dispatch.state.jobs:
                if job.id == job_id:
                    return job.state
        return None

    async def terminate_room(self, room: str) -> None:
        """The room was deleted: every job in it is told to end (JobTermination)."""
        for dispatch in self.in_room(room):
            for job in dispatch.state.jobs:
                if job.state.status in (agent.JS_PENDING, agent.JS_RUNNING):
                    worker = next((w for w in self.workers if w.id == job.state.worker_id), None)
                    if worker is not None:
                        await worker.send(agent.ServerMessage(termination=agent.JobTermination(job_id=job.id)))
            self.dispatches.pop(dispatch.id, None)

    # ------------------------------------------------------------------ workers (/agent)

    async def serve(self, ws: web.WebSocketResponse) -> None:
        """One worker's connection: registration first, then its messages until it goes."""
        first = await ws.receive()
        if first.type != web.WSMsgType.BINARY:
            await ws.close(code=1002, message=b"expected a binary WorkerMessage")
            return
        message = agent.WorkerMessage.FromString(first.data)
        if message.WhichOneof("message") != "register":
            await ws.close(code=1002, message=b"expected register as the first message")
            return
        worker = Worker(ws=ws, agent_name=message.register.agent_name,
                        permissions=message.register.allowed_permissions)
        self.workers.append(worker)
        await worker.send(agent.ServerMessage(register=agent.RegisterWorkerResponse(
            worker_id=worker.id, server_info=models.ServerInfo(edition=models.ServerInfo.Standard,
                                                               version="1.8.4", protocol=16, node_id="ND_standin"))))
        try:
            async for frame in ws:
                if frame.type == web.WSMsgType.BINARY:
                    await self._worker_message(worker, agent.WorkerMessage.FromString(frame.data))
        finally:
            self.workers.remove(worker)
            for answer in worker.availability.values():
                answer.cancel()

    async def _worker_message(self, worker: Worker, message: agent.WorkerMessage) -> None:
        which = message.WhichOneof("message")
        if which == "availability":
            answer = worker.availability.get(message.availability.job_id)
            if answer is not None and not answer.done():
                answer.set_result(message.availability)
        elif which == "update_job":
            state = self._job_state(message.update_job.job_id)
            if state is not None:
                state.status = message.update_job.status
                state.error = message.update_job.error
                state.updated_at = time.time_ns()
                if message.update_job.status == agent.JS_RUNNING and not state.started_at:
                    state.started_at = time.time_ns()
                if message.update_job.status in (agent.JS_SUCCESS, agent.JS_FAILED):
                    state.ended_at = time.time_ns()
        elif which == "update_worker":
            worker.load = message.update_worker.load
            if message.update_worker.HasField("status"):
                worker.full = message.update_worker.status == agent.WS_FULL
        elif which == "ping":
            await worker.send(agent.ServerMessage(pong=agent.WorkerPong(
                last_timestamp=message.ping.timestamp, timestamp=now_ms())))
        # simulate_job and migrate_job: there is one node and no simulated rooms here
