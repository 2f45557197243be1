"""The interviewer agent in LiveKit rooms (``voxbank agent dev|start``): one job per visit's room.

    browser ──(LiveKit room)── RoomIO ─► Silero VAD ─► faster-whisper ─► conductor ─► Piper ─► RoomIO
                                 │                                          │
                                 └── both channels recorded in chunks       └── turns + checkpoint committed

Every job process loads the models once (the ``prewarm`` the wiring passes to `agent_server`:
``voxbank.wiring.prewarm_interviewer`` puts a `VoiceRuntime` in the process's userdata); each job
finds the visit's interview in the dispatch metadata, resumes it from its checkpoint or starts it,
and runs until it ends or the participant leaves. LiveKit re-dispatches a job that crashes (restart
policy "on failure"); the new job resumes the same interview. Without a LiveKit server, the same
session runs over the embedded WebRTC transport inside ``voxbank serve`` instead.
"""

from __future__ import annotations

from collections.abc import Callable

from livekit.agents import AgentServer, AgentSession, JobContext, JobProcess, room_io
from livekit.agents.cli import cli, proto

from interviewer.voice.audio_io import INPUT_RATE, OUTPUT_RATE
from interviewer.voice.conducting import InterviewUnavailable
from interviewer.voice.livekit_room import AGENT_NAME, DispatchRequest
from interviewer.voice.options import LiveKitOptions
from interviewer.voice.session import InterviewSession, VoiceRuntime

RUNTIME_KEY = "runtime"
"""Where ``prewarm`` leaves the process's `VoiceRuntime` in ``JobProcess.userdata``."""


def agent_server(prewarm: Callable[[JobProcess], None]) -> AgentServer:
    """The interviewer's agent server: ``prewarm`` (a module-level function, so that job processes can
    import it) runs once per job process and stores a `VoiceRuntime` under ``RUNTIME_KEY``."""
    server = AgentServer(setup_fnc=prewarm, initialize_process_timeout=120.0, drain_timeout=3 * 3600)
    server.rtc_session(agent_name=AGENT_NAME)(interview)
    return server


async def interview(ctx: JobContext) -> None:
    """One visit's room: its interview, spoken until it ends or the participant leaves."""
    runtime: VoiceRuntime = ctx.proc.userdata[RUNTIME_KEY]
    request = DispatchRequest.from_metadata(ctx.job.metadata)      # which visit this room is for
    await ctx.connect()                                            # join the room

    async def room_audio(session: AgentSession) -> None:           # the participant's mic in, our voice out
        await room_io.RoomIO(session, ctx.room, options=room_io.RoomOptions(
            audio_input=room_io.AudioInputOptions(sample_rate=INPUT_RATE),
            audio_output=room_io.AudioOutputOptions(sample_rate=OUTPUT_RATE),
            close_on_disconnect=True,                                # leaving for good ends the job;
        )).start()                                                   # a network drop re-links on rejoin

    session = InterviewSession(runtime, room_audio, visit_id=request.visit_id, guide_id=request.guide_id)
    ctx.add_shutdown_callback(lambda: session.aclose("job_shutdown"))  # store the last chunks, whatever ends it
    try:
        await session.start()                                       # conductor resumed or started; recording on
    except InterviewUnavailable:                                    # already over: end cleanly, no restart
        ctx.shutdown(reason="the visit's interview has ended")
        return
    await session.wait()                                            # until the interview ends or they leave
    ctx.shutdown(reason=session.close_reason or "closed")


def run(server: AgentServer, livekit: LiveKitOptions, *, dev: bool) -> None:
    """Run the agent server against the LiveKit server until interrupted (blocking)."""
    cli._run_worker(server=server, args=proto.CliArgs(
        log_level="DEBUG" if dev else "INFO", url=livekit.url, api_key=livekit.api_key,
        api_secret=livekit.api_secret, dev=dev))
