"""What the web app takes from the settings: plain values the wiring (``voxbank.wiring``) builds.

Routes read them as ``settings: SettingsDep``. A new setting a route needs is a field here, filled
in by ``voxbank.wiring.web_settings``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from agentbank.embeddings import Embedder
from interviewer.voice.options import LiveKitOptions
from protocols import Study
from survey.journey import SessionCheck
from web.readiness import ModelCheck

if TYPE_CHECKING:
    from interviewer.voice.session import VoiceRuntime


@dataclass(frozen=True)
class WebSettings:
    """The web app's settings: a field named like a setting (``VOXBANK_<NAME>``) is that setting
    (see `voxbank.wiring.web_settings`); the defaults here are the settings' defaults."""

    secret_key: SecretStr
    environment: Literal["development", "test", "production"] = "development"
    contact_email: str = "study-team@example.org"
    livekit: LiveKitOptions = field(default_factory=LiveKitOptions)
    prolific_webhook_secret: SecretStr | None = None
    # identity: the only Prolific study whose links open wave 2, and how to ask Prolific about a
    # session id not seen before (None: a new session needs the participant's capability)
    prolific_retest_study_id: str | None = None
    confirm_session: SessionCheck | None = None
    # operations (deploy/): the broker /readyz and /metrics look at, the operator's scrape token, and
    # the models check (`voxbank.readiness.check_models`), absent where this process holds no models
    broker_url: str = "memory://"
    metrics_token: SecretStr | None = None
    check_models: ModelCheck | None = None
    # limits against unauthenticated exhaustion (deploy/SECURITY.md)
    max_body_bytes: int = 262_144
    rate_limit_entry: str = "20/minute"
    rate_limit_offer: str = "6/minute"
    rate_limit_webhook: str = "120/minute"
    rate_limit_resume: str = "5/15 minutes"
    rate_limit_storage_url: str = "memory://"
    voice_max_calls: int = 8
    voice_connect_timeout_s: float = 20.0
    quota_hold_minutes: int = 120
    # staff dashboard (web/staff): session lifetimes and sign-in throttling
    staff_session_max_age_s: int = 43200
    staff_session_idle_s: int = 3600
    staff_signin_max_failures: int = 5
    staff_lockout_s: int = 900
    staff_signin_client_limit: int = 20
    # staff dashboard: where exports are written and what embeds them (None: the importer does), the
    # broker's queues and how a transcription is sent to them, and the settings shown (secrets as set/unset)
    exports_dir: Path = Path("var/exports")
    export_embedder: Embedder | None = None
    queues: tuple[str, ...] = ("default", "gpu")
    send_transcription: Callable[[int], str] | None = None
    visible_settings: tuple[tuple[str, str], ...] = ()

    @property
    def livekit_url(self) -> str | None:
        """The LiveKit server; None when the browser connects to this process by embedded WebRTC."""
        return self.livekit.url


@dataclass(frozen=True)
class OpenedVoice:
    """The embedded transport's voice runtime, and what stops what was started for it (the embedded LLM)."""

    runtime: VoiceRuntime
    close: Callable[[], None]


VoiceOpener = Callable[[sessionmaker[Session], Study], OpenedVoice]
"""Loads the voice models and the LLM client for this process's database and study (blocking: seconds);
the app calls it on the first embedded interview."""
