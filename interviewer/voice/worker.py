"""The interviewer agent in LiveKit rooms (``voxbank agent dev|start``): one job per visit's room.

    browser ──(LiveKit room)── RoomIO ─► Silero VAD ─► faster-whisper ─► conductor ─► Piper ─► RoomIO
                                 │                                          │
                                 └── both channels recorded in chunks       └── turns + checkpoint committed

Every job process loads the models once (prewarm); each job finds the visit's interview in the
dispatch metadata, resumes it from its checkpoint or starts it, and runs until it ends or the
participant leaves. LiveKit re-dispatches a job that crashes (restart policy "on failure"); the new
job resumes the same interview. Without a LiveKit server, the same session runs over the embedded
WebRTC transport inside ``voxbank serve`` instead.
"""

from __future__ import annotations

from livekit.agents import AgentServer, AgentSession, JobContext, JobProcess, room_io
from livekit.agents.cli import cli, proto

from interviewer.voice.audio_io import INPUT_RATE, OUTPUT_RATE
from interviewer.voice.conducting import InterviewUnavailable
from interviewer.voice.livekit_room import AGENT_NAME, DispatchRequest
from interviewer.voice.session import InterviewSession, VoiceRuntime, voice_llm
from voxbank.settings import Settings, get_settings


def prewarm(proc: JobProcess) -> None:
    """Once per job process: Whisper, Piper and Silero loaded; the LLM client made."""
    settings = get_settings()
    # The agent process is the application's entry point here, so it may reach up to voxbank.tasks.
    from voxbank.tasks import transcription_on_finish

    llm, _ = voice_llm(settings, start_embedded=False)  # the `voxbank agent` process runs the embedded one
    proc.userdata["runtime"] = VoiceRuntime.create(settings, llm=llm, on_finished=transcription_on_finish(settings))


server = AgentServer(setup_fnc=prewarm, initialize_process_timeout=120.0, drain_timeout=3 * 3600)


@server.rtc_session(agent_name=AGENT_NAME)
async def interview(ctx: JobContext) -> None:
    """One visit's room: its interview, spoken until it ends or the participant leaves."""
    runtime: VoiceRuntime = ctx.proc.userdata["runtime"]
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


def run(settings: Settings, *, dev: bool) -> None:
    """Run the agent server against ``VOXBANK_LIVEKIT_URL`` until interrupted (blocking)."""
    secret = settings.livekit_api_secret.get_secret_value() if settings.livekit_api_secret else None
    cli._run_worker(server=server, args=proto.CliArgs(
        log_level="DEBUG" if dev else "INFO", url=settings.livekit_url, api_key=settings.livekit_api_key,
        api_secret=secret, dev=dev))
