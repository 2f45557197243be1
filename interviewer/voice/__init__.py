"""The voice interviewer: a livekit-agents ``AgentSession`` that speaks the conductor's words, hears the
participant with local Whisper, speaks with Piper, records both channels and times every reply.

    worker.py      the LiveKit entry point (``voxbank agent dev|start``): the whole story in one file
    session.py     `InterviewSession` (one interview over any transport) and `VoiceRuntime` (per process)
    agent.py       `InterviewerAgent`: say the conductor's reply; hand each finished turn to the conductor
    conducting.py  which interview to run; the conductor off the event loop; turns on the timeline
    models.py      Silero VAD, Whisper, TTS loaded once; turn-taking settings for reflective answers
    stt.py         faster-whisper as a livekit STT plugin       tts.py  Piper / OpenAI-compatible TTS plugins
    recording.py   both channels in WAV chunks, committed as written; the interview's timeline
    audio_io.py    audio input/output classes for sessions without a LiveKit room
    webrtc.py      the embedded transport: the browser straight to this server (aiortc)
    inprocess.py   the in-process transport: arrays in, played audio out (tests, pilots)
    livekit_room.py  LiveKit tokens and agent dispatch for the production transport

The web side is ``web/routes/interview.py`` (page, WebRTC offer, LiveKit token) with
``web/templates/interview.html`` and ``web/static/interview.js``.
"""
