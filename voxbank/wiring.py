"""The wiring: what the lower packages need, built from the settings and handed down.

Imports go down the rooms (DESIGN.md): ``interviewer``, ``survey``, ``agentbank``, ``storage`` and
``web`` never import ``voxbank``; they take plain option dataclasses and ready-made objects. This
module is the one place that turns `Settings` into them:

* stores: the database engine and session factory, the blob store, the loaded study;
* the LLM: `LLMOptions`, and the one picker of "the configured endpoint, else the embedded server";
* voice: `VoiceOptions`, `LiveKitOptions`, Whisper, the TTS voice, the loaded models, a process's
  `VoiceRuntime`, the LiveKit agent server and its per-process ``prewarm``;
* the agent bank's embedder (an endpoint, else the local model);
* hooks: what a finished interview sets off (``voxbank.tasks.transcription_on_finish``);
* the web app: its `WebSettings`, and ``web_app(settings)``, which ``voxbank serve`` and tests run.

The voice and web parts are imported when first asked for, so that a Celery worker or a CLI command
that needs only the database does not load livekit-agents or FastAPI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from interviewer.conductor.options import ConductorOptions
from interviewer.llm.client import LLMClient, Style, client_for
from interviewer.llm.embedded import EmbeddedServer, port_answers
from interviewer.llm.options import LLMOptions
from interviewer.transcription.whisper import WhisperOptions
from protocols import Study, default_study_dir, load_study
from storage.blobs import BlobStore
from storage.db import make_engine, make_session_factory
from voxbank.settings import LLM_SIGNALS, Settings, get_settings, signal_names

if TYPE_CHECKING:
    from fastapi import FastAPI
    from livekit.agents import AgentServer, JobProcess, tts

    from agentbank.embeddings import Embedder
    from interviewer.voice.models import VoiceModels
    from interviewer.voice.options import LiveKitOptions, VoiceOptions
    from interviewer.voice.session import VoiceRuntime
    from interviewer.voice.stt import LoadedWhisper
    from interviewer.voice.tts import OpenAITTSOptions
    from survey.journey import SessionCheck
    from web.options import OpenedVoice, VoiceOpener, WebSettings


# ---------------------------------------------------------------- stores


def database_engine(settings: Settings) -> Engine:
    """The database engine of ``VOXBANK_DATABASE_URL`` (default: SQLite in the data directory)."""
    return make_engine(settings.resolved_database_url)


def database_sessions(settings: Settings) -> sessionmaker[Session]:
    """Sessions on a new engine for the configured database (the engine lives as long as the process)."""
    return make_session_factory(database_engine(settings))


def blob_store(settings: Settings) -> BlobStore:
    """The blob store for recordings, under the data directory."""
    return BlobStore(settings.resolved_data_dir / "blobs")


def configured_study(settings: Settings) -> Study:
    """The study of ``VOXBANK_STUDY_DIR`` (default: the shipped park2024), loaded and validated."""
    return load_study(settings.study_dir or default_study_dir())


# ---------------------------------------------------------------- the LLM


def llm_options(settings: Settings) -> LLMOptions:
    """How to reach the LLM (``VOXBANK_LLM_*``)."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return LLMOptions(base_url=settings.llm_base_url, model=settings.llm_model, api_key=key,
                      timeout_s=settings.llm_timeout_s, embedded_port=settings.llm_embedded_port)


def conductor_options(settings: Settings) -> ConductorOptions:
    """How the conductor chooses follow-ups and which LLM signals it acts on (``VOXBANK_FOLLOW_UP_CHOICE_ORDERS``,
    ``VOXBANK_LLM_SIGNALS``; without the latter: distress and stop from the embedded model, every signal
    from a configured endpoint)."""
    if settings.llm_signals is not None:
        signals = signal_names(settings.llm_signals)
    elif settings.llm_base_url is None:
        signals = frozenset({"distress", "stop"})
    else:
        signals = frozenset(LLM_SIGNALS)
    return ConductorOptions(follow_up_choice_orders=settings.follow_up_choice_orders, llm_signals=signals)


def client_from_settings(settings: Settings, *, base_url: str | None = None, style: Style | None = None) -> LLMClient:
    """The client for the configured endpoint, or for ``base_url`` (see `client_for`)."""
    return client_for(llm_options(settings), base_url=base_url, style=style)


def embedded_server_for(settings: Settings) -> EmbeddedServer:
    """The embedded server as the settings configure it (port, model name, log file)."""
    return EmbeddedServer(port=settings.llm_embedded_port, model_alias=settings.llm_model,
                          log_path=settings.resolved_data_dir / "logs" / "llm-embedded.log")


def configured_or_embedded_llm(settings: Settings, *, start_embedded: bool, reuse_running: bool = True
                               ) -> tuple[LLMClient, EmbeddedServer | None]:
    """The one endpoint picker: the configured endpoint, else the embedded llama.cpp server.

    With ``start_embedded`` the embedded server is started, and returned to be stopped by the
    caller; with ``reuse_running`` a server that already answers on ``VOXBANK_LLM_EMBEDDED_PORT`` is
    used instead (the ``voxbank agent`` process starts one for its job processes), else a busy port
    is an `EmbeddedServerError` naming the fix. Without ``start_embedded`` the server is assumed
    to run already.
    """
    if settings.llm_base_url is not None:
        return client_from_settings(settings), None
    server = embedded_server_for(settings)
    started = None
    if start_embedded and not (reuse_running and port_answers(settings.llm_embedded_port)):
        server.start()
        started = server
    try:
        return client_from_settings(settings, base_url=server.base_url), started
    except BaseException:
        if started is not None:
            started.stop()
        raise


@contextmanager
def llm_endpoint(settings: Settings) -> Iterator[LLMClient]:
    """A client for the configured endpoint; without one, for an embedded server started (and
    stopped) around the block."""
    client, started = configured_or_embedded_llm(settings, start_embedded=True, reuse_running=False)
    try:
        with client:
            yield client
    finally:
        if started is not None:
            started.stop()


# ---------------------------------------------------------------- the agent bank


def embedder_from_settings(settings: Settings) -> Embedder | None:
    """The agent bank's embeddings: the endpoint when ``VOXBANK_EMBEDDING_BASE_URL`` is set, else None
    (no vectors are written; the importer computes them with the model it queries with)."""
    from agentbank.embeddings import OpenAIEmbedder

    if settings.embedding_base_url:
        key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
        return OpenAIEmbedder(base_url=settings.embedding_base_url, model=settings.embedding_model, api_key=key,
                              timeout_s=settings.llm_timeout_s)
    return None


# ---------------------------------------------------------------- voice


def voice_options(settings: Settings) -> VoiceOptions:
    """Turn-taking and recording (``VOXBANK_VOICE_*``)."""
    from interviewer.voice.options import VoiceOptions

    return VoiceOptions(end_of_turn_s=settings.voice_end_of_turn_s, end_of_turn_max_s=settings.voice_end_of_turn_max_s,
                        pause_s=settings.voice_pause_s, max_speech_s=settings.voice_max_speech_s,
                        barge_in_s=settings.voice_barge_in_s, resume_after_s=settings.voice_resume_after_s,
                        chunk_s=settings.voice_chunk_s, still_there_s=settings.voice_still_there_s,
                        abandon_after_s=settings.voice_abandon_after_s,
                        decision_deadline_s=settings.voice_decision_deadline_s or None,
                        speculative_decision=settings.voice_speculative_decision,
                        presynthesis=settings.voice_presynthesis,
                        acknowledge_after_s=settings.voice_acknowledge_after_s if settings.voice_acknowledge else None)


def livekit_options(settings: Settings) -> LiveKitOptions:
    """The LiveKit server and its credentials (``VOXBANK_LIVEKIT_*``); all None without one."""
    from interviewer.voice.options import LiveKitOptions

    secret = settings.livekit_api_secret.get_secret_value() if settings.livekit_api_secret else None
    return LiveKitOptions(url=settings.livekit_url, api_key=settings.livekit_api_key, api_secret=secret)


def whisper_options(settings: Settings) -> WhisperOptions:
    """The offline transcription's Whisper (``VOXBANK_STT_*``)."""
    return WhisperOptions(model=settings.stt_model, device=settings.stt_device,
                          compute_type=settings.stt_compute_type, batch_size=settings.stt_batch_size)


def load_whisper(settings: Settings) -> LoadedWhisper:
    """The live Whisper model ``VOXBANK_STT_MODEL`` names, on ``VOXBANK_STT_DEVICE`` (blocking)."""
    from interviewer.voice.stt import load_whisper_model

    return load_whisper_model(model=settings.stt_model, device=settings.stt_device,
                              compute_type=settings.stt_compute_type)


def openai_tts_options(settings: Settings) -> OpenAITTSOptions | None:
    """The speech endpoint of ``VOXBANK_TTS_BASE_URL`` (else the LLM endpoint) and its key; None without one."""
    from interviewer.voice.tts import OpenAITTSOptions

    base_url = settings.tts_base_url or settings.llm_base_url
    if base_url is None:
        return None
    key = settings.tts_api_key or settings.llm_api_key
    return OpenAITTSOptions(base_url=base_url, model=settings.tts_model, voice=settings.tts_voice,
                            api_key=key.get_secret_value() if key else None, timeout_s=settings.llm_timeout_s)


def load_tts_voice(settings: Settings) -> tts.TTS:
    """The engine ``VOXBANK_TTS_ENGINE`` names, its voice loaded (blocking)."""
    from interviewer.voice.tts import load_tts

    return load_tts(settings.tts_engine, voice=settings.tts_voice, openai_options=openai_tts_options(settings))


def load_voice_models(settings: Settings) -> VoiceModels:
    """Silero, Whisper and the TTS voice (blocking: seconds; once per process)."""
    from interviewer.voice.models import load_voice_models as load

    return load(voice_options(settings), whisper=load_whisper(settings), voice=load_tts_voice(settings))


def transcription_on_finish(settings: Settings) -> Callable[[int], bool]:
    """The hook a finished interview sets off: queue its offline transcription."""
    # voxbank.tasks imports this module for its stores; it is imported here, when a hook is made.
    from voxbank.tasks import transcription_on_finish as hook

    return hook(settings)


def voice_runtime(settings: Settings, *, llm: LLMClient, models: VoiceModels | None = None,
                  session_factory: sessionmaker[Session] | None = None, study: Study | None = None,
                  on_finished: Callable[[int], object] | None = None) -> VoiceRuntime:
    """What one process's interview sessions share; what is not given is built or loaded (blocking)."""
    from interviewer.voice.session import VoiceRuntime

    return VoiceRuntime(options=voice_options(settings), session_factory=session_factory or database_sessions(settings),
                        blobs=blob_store(settings), study=study or configured_study(settings),
                        models=models or load_voice_models(settings), llm=llm, on_finished=on_finished,
                        conductor=conductor_options(settings))


def prewarm_interviewer(proc: JobProcess) -> None:
    """Once per LiveKit job process: the models loaded, the LLM client made, finished interviews queued."""
    from interviewer.voice.worker import RUNTIME_KEY

    settings = get_settings()
    llm, _ = configured_or_embedded_llm(settings, start_embedded=False)  # `voxbank agent` runs the embedded one
    proc.userdata[RUNTIME_KEY] = voice_runtime(settings, llm=llm, on_finished=transcription_on_finish(settings))


def interviewer_agent_server() -> AgentServer:
    """The LiveKit agent server whose job processes are prewarmed by `prewarm_interviewer`."""
    from interviewer.voice.worker import agent_server

    return agent_server(prewarm_interviewer)


# ---------------------------------------------------------------- the web app


def web_settings(settings: Settings) -> WebSettings:
    """What the web app's routes read: each `WebSettings` field that is a setting of the same name is
    copied; the rest are built here."""
    from dataclasses import fields

    from voxbank.celery_app import QUEUES
    from voxbank.readiness import check_models
    from voxbank.settings import visible_settings
    from voxbank.tasks import send_transcription
    from web.options import WebSettings

    values = {field.name: getattr(settings, field.name) for field in fields(WebSettings)
              if field.name in Settings.model_fields}
    values.update(livekit=livekit_options(settings), broker_url=settings.resolved_broker_url,
                  confirm_session=prolific_session_check(settings), check_models=lambda: check_models(settings),
                  exports_dir=settings.resolved_data_dir / "exports", export_embedder=embedder_from_settings(settings),
                  queues=QUEUES, send_transcription=lambda interview_id: send_transcription(interview_id, settings),
                  visible_settings=tuple(visible_settings(settings)))
    return WebSettings(**values)


def prolific_session_check(settings: Settings) -> SessionCheck | None:
    """Prolific's API as the check of a session id not seen before, when a token is configured; None
    (a new session then needs the participant's capability) without."""
    from functools import partial

    from survey.prolific_api.client import ProlificClient
    from survey.prolific_api.sessions import confirms_session

    if settings.prolific_token is None:
        return None
    client = ProlificClient(settings.prolific_api_url, settings.prolific_token.get_secret_value())
    return partial(confirms_session, client)


def embedded_voice_opener(settings: Settings) -> VoiceOpener:
    """How the web app loads its embedded interviewer on first use: the configured LLM or an embedded
    server (started unless one answers already), the voice models, and the transcription hook."""
    from web.options import OpenedVoice

    def open_voice(factory: sessionmaker[Session], loaded: Study) -> OpenedVoice:
        llm, server = configured_or_embedded_llm(settings, start_embedded=True)
        try:
            runtime = voice_runtime(settings, llm=llm, session_factory=factory, study=loaded,
                                    on_finished=transcription_on_finish(settings))
        except BaseException:
            if server is not None:
                server.stop()
            raise
        return OpenedVoice(runtime=runtime, close=server.stop if server is not None else _nothing)

    return open_voice


def _nothing() -> None:
    """Nothing was started, so nothing stops."""


def web_app(settings: Settings, *, study: Study | None = None) -> FastAPI:
    """The web app for these settings (and the given loaded study, else ``VOXBANK_STUDY_DIR``'s)."""
    from web.app import create_app

    return create_app(web_settings(settings), engine=database_engine(settings),
                      study=study or configured_study(settings), blobs=blob_store(settings),
                      open_voice=embedded_voice_opener(settings))
