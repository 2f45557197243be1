"""The STT and TTS plugins: real faster-whisper and Piper, run off the event loop; the OpenAI-compatible
TTS against a stand-in speech endpoint over real HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import APIStatusError
from livekit.agents.types import APIConnectOptions

from interviewer.transcription.merge import word_error_rate
from interviewer.voice.models import VoiceModels
from interviewer.voice.stt import to_whisper_input
from interviewer.voice.tts import OpenAITTS, VoiceUnavailable, load_piper_voice
from tests.interviewer.voice.helpers import ANSWER
from voxbank.settings import load_settings
from voxbank.wiring import load_tts_voice, openai_tts_options

T = TypeVar("T")
NO_RETRY = APIConnectOptions(max_retry=0, timeout=5.0)


async def longest_stall(work: Awaitable[T]) -> tuple[T, float]:
    """Run ``work`` while a 10 ms ticker measures the longest gap the event loop let it wait."""
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        task.cancel()
    return result, max(gaps, default=0.0)


def frame_of(samples: np.ndarray, rate: int = 16000, channels: int = 1) -> rtc.AudioFrame:
    return rtc.AudioFrame(samples.astype(np.int16).tobytes(), rate, channels, len(samples) // channels)


@pytest.mark.slow
def test_whisper_transcribes_a_stretch_of_speech_without_blocking_the_loop(
        voice_models: VoiceModels, speak_text) -> None:  # type: ignore[no-untyped-def]
    speech = speak_text(ANSWER)
    event, stall = asyncio.run(longest_stall(voice_models.stt.recognize([frame_of(speech)])))
    text = event.alternatives[0].text
    assert word_error_rate(ANSWER, text) <= 0.25, text
    assert 0.0 < event.alternatives[0].confidence <= 1.0
    assert stall < 0.25
    assert voice_models.stt.model == "tiny.en"
    assert voice_models.stt.provider == "faster-whisper/cpu"


@pytest.mark.slow
def test_whisper_hears_nothing_in_silence_and_takes_any_rate_and_channel_count(
        voice_models: VoiceModels, speak_text) -> None:  # type: ignore[no-untyped-def]
    silence = asyncio.run(voice_models.stt.recognize([frame_of(np.zeros(16000, np.int16))]))
    assert silence.alternatives[0].text == ""
    speech = speak_text(ANSWER)
    stereo_48k = np.repeat(np.interp(np.linspace(0, len(speech) - 1, len(speech) * 3), np.arange(len(speech)),
                                     speech.astype(np.float64)).astype(np.int16), 2)
    converted = to_whisper_input(frame_of(stereo_48k, rate=48000, channels=2))
    assert abs(len(converted) - len(speech)) <= 48
    event = asyncio.run(voice_models.stt.recognize([frame_of(stereo_48k, rate=48000, channels=2)]))
    assert word_error_rate(ANSWER, event.alternatives[0].text) <= 0.25


@pytest.mark.slow
def test_piper_speaks_sentence_by_sentence_without_blocking_the_loop(voice_models: VoiceModels) -> None:
    text = "Thank you for that. Now I would like to ask about your work. What do you do for a living?"

    async def synthesise() -> list[rtc.AudioFrame]:
        return [event.frame async for event in voice_models.tts.synthesize(text, conn_options=NO_RETRY)]

    frames, stall = asyncio.run(longest_stall(synthesise()))
    audio = rtc.combine_audio_frames(frames)
    assert audio.sample_rate == voice_models.tts.sample_rate == 22050
    assert 4.0 < audio.duration < 9.0
    assert stall < 0.25


def test_a_voice_that_is_not_installed_is_named_with_the_fix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VoiceUnavailable, match="is not a Piper voice: give 'joe' or the path of an .onnx file"):
        load_piper_voice(str(tmp_path / "missing.onnx"))


@dataclass
class SpeechServer:
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    server: ThreadingHTTPServer | None = None


@pytest.fixture
def speech_server() -> Iterator[SpeechServer]:
    """A stand-in for ``POST /v1/audio/speech``: 0.5 s of 24 kHz PCM per request (or an error status)."""
    state = SpeechServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            state.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"), **body})
            data = np.full(12000, 300, np.int16).tobytes() if state.status == 200 else b'{"error": {}}'
            self.send_response(state.status)
            self.send_header("Content-Type", "audio/pcm" if state.status == 200 else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = state.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def test_the_openai_engine_streams_pcm_from_the_speech_endpoint(speech_server: SpeechServer) -> None:
    settings = load_settings(environment="test", tts_engine="openai", tts_voice="alloy",
                             llm_base_url=speech_server.base_url, llm_api_key="sk-test")
    engine = load_tts_voice(settings)
    assert isinstance(engine, OpenAITTS)

    async def synthesise() -> rtc.AudioFrame:
        try:
            return await engine.synthesize("Where did you grow up?", conn_options=NO_RETRY).collect()
        finally:
            await engine.aclose()

    audio = asyncio.run(synthesise())
    assert audio.sample_rate == 24000 and audio.duration == pytest.approx(0.5, abs=0.02)
    (request,) = speech_server.requests
    assert request == {"path": "/v1/audio/speech", "authorization": "Bearer sk-test", "model": "tts-1",
                       "voice": "alloy", "input": "Where did you grow up?", "response_format": "pcm"}


def test_a_failing_speech_endpoint_is_reported_as_retryable(speech_server: SpeechServer) -> None:
    speech_server.status = 503
    options = openai_tts_options(load_settings(environment="test", tts_engine="openai",
                                               tts_base_url=speech_server.base_url))
    assert options is not None
    engine = OpenAITTS(options=options)

    async def synthesise() -> None:
        try:
            await engine.synthesize("Hello.", conn_options=NO_RETRY).collect()
        finally:
            await engine.aclose()

    with pytest.raises(APIStatusError) as raised:
        asyncio.run(synthesise())
    assert raised.value.status_code == 503 and raised.value.retryable


def test_the_openai_engine_needs_an_endpoint() -> None:
    with pytest.raises(VoiceUnavailable, match="VOXBANK_TTS_ENGINE=openai needs VOXBANK_TTS_BASE_URL"):
        load_tts_voice(load_settings(environment="test", tts_engine="openai"))
