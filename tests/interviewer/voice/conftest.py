"""Fixtures for the voice tests: the real models (loaded once), spoken answers synthesised with Piper,
a stand-in LLM over real HTTP, and a two-question guide so a spoken interview takes seconds."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

# The suite imports test modules with --import-mode=importlib: make this folder's helpers importable.
sys.path.insert(0, str(Path(__file__).parent))

from livekit.protocol import agent_dispatch  # noqa: E402
from llm_server import LLMServer, start_llm_server  # noqa: E402

from interviewer.llm.client import LLMClient, client_from_settings  # noqa: E402
from interviewer.voice.audio_io import INPUT_RATE  # noqa: E402
from interviewer.voice.models import VoiceModels, load_voice_models  # noqa: E402
from interviewer.voice.session import VoiceRuntime  # noqa: E402
from protocols import Study, load_file, load_study  # noqa: E402
from storage.blobs import BlobStore  # noqa: E402
from voxbank.settings import Settings, load_settings  # noqa: E402

DATA = Path(__file__).parent / "data"
ANSWER = "I grew up in a small town in Ohio, near a river. My father worked at the paper mill."
SECOND_ANSWER = ("I work as a nurse at the county hospital.", "Mostly on the night shift, which suits me fine.")
"""Said with a reflective one-second pause between the two parts."""


@pytest.fixture(scope="session")
def voice_models() -> VoiceModels:
    """Silero, Whisper tiny.en (CPU int8 here) and the Piper joe voice, loaded once for the run."""
    return load_voice_models(load_settings(environment="test"))


@pytest.fixture(scope="session")
def speak_text(voice_models: VoiceModels, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``speak_text(text) -> int16 samples at 16 kHz``: Piper, a little slower than the interviewer."""
    from piper import SynthesisConfig

    from interviewer.voice.tts import load_piper_voice

    voice = load_piper_voice()
    cache: dict[str, np.ndarray] = {}

    def speak(text: str) -> np.ndarray:
        if text not in cache:
            config = SynthesisConfig(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0)
            audio = np.concatenate([chunk.audio_int16_array for chunk in voice.synthesize(text, syn_config=config)])
            rate = voice.config.sample_rate
            count = round(len(audio) * INPUT_RATE / rate)
            cache[text] = np.interp(np.linspace(0, len(audio) - 1, count), np.arange(len(audio)),
                                    audio.astype(np.float64)).astype(np.int16)
        return cache[text]

    return speak


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    """The stand-in LLM (every decision ``move_on`` unless a test queues others)."""
    server = start_llm_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tiny_study() -> Study:
    """The shipped study with a two-question guide ``tiny`` added and made the study's interview guide."""
    study = load_study()
    tiny = load_file(DATA / "tiny_guide.yaml", kind="interview_guide")
    spec = study.spec.model_copy(update={"interview_guide": "tiny"})
    return dataclasses.replace(study, file=dataclasses.replace(study.file, data=spec),
                               interview_guides={**study.interview_guides, "tiny": tiny})


@pytest.fixture
def voice_settings(settings: Settings, llm: LLMServer) -> Settings:
    """The test's settings, pointed at the stand-in LLM."""
    return settings.model_copy(update={"llm_base_url": llm.base_url})


@pytest.fixture
def llm_client(voice_settings: Settings) -> Iterator[LLMClient]:
    """The conductor's client for the stand-in LLM."""
    client = client_from_settings(voice_settings)
    yield client
    client.close()


@pytest.fixture
def runtime(voice_settings: Settings, session_factory: sessionmaker[Session], voice_models: VoiceModels,
            tiny_study: Study, llm_client: LLMClient) -> VoiceRuntime:
    """A voice runtime on the test's database, with the loaded models and the stand-in LLM."""
    return VoiceRuntime(settings=voice_settings, session_factory=session_factory,
                        blobs=BlobStore(voice_settings.resolved_data_dir / "blobs"), study=tiny_study,
                        models=voice_models, llm=llm_client)


@dataclass
class DispatchServer:
    url: str = ""
    dispatches: list[agent_dispatch.AgentDispatch] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)


@pytest.fixture
def livekit() -> Iterator[DispatchServer]:
    """``/twirp/livekit.AgentDispatchService/{ListDispatch,CreateDispatch}`` as LiveKit answers them."""
    state = DispatchServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            method = self.path.rsplit("/", 1)[-1]
            if method == "ListDispatch":
                request = agent_dispatch.ListAgentDispatchRequest.FromString(body)
                state.calls.append((method, request.room))
                reply = agent_dispatch.ListAgentDispatchResponse(
                    agent_dispatches=[d for d in state.dispatches if d.room == request.room]).SerializeToString()
            else:
                created = agent_dispatch.CreateAgentDispatchRequest.FromString(body)
                state.calls.append((method, created))
                dispatch = agent_dispatch.AgentDispatch(id="AD_new", agent_name=created.agent_name, room=created.room,
                                                        metadata=created.metadata)
                state.dispatches.append(dispatch)
                reply = dispatch.SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()
