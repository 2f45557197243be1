"""What an action's handler works with (``Job``) and what it answers (``Result``).

A handler holds the claim on one action. Before every call to Prolific it calls ``job.before_call()``,
which renews the lease and commits, fenced on the claim: a worker that has lost its claim stops
there (``LostClaim``) instead of calling Prolific a second time. Progress that must survive a crash
(a message about to be sent, a bonus set up, a pay request about to go out) is committed the same
way, before the call it protects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from storage.models import ScheduledAction
from survey.prolific_api import ProlificClient, ProlificNotConfigured
from survey.scheduling import claims
from survey.scheduling.timeline import WaveTimeline

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class ProlificSetup:
    """The study's set-up on Prolific, from the settings: the later wave's study and its allowlist group."""

    retest_study_id: str | None = None
    retest_group_id: str | None = None


@dataclass(frozen=True)
class Result:
    """What became of an action this time.

    ``sent``: done (status ``sent``); ``cancelled``: no longer applies (``detail`` says why);
    ``later``: not now, look again at ``until`` (``moved`` also moves ``due_at`` there; neither
    counts as a try); ``retry``: a transient failure, tried again after a backoff; ``failed``: will
    not succeed by waiting (status ``failed``, for staff to look at).
    """

    outcome: Literal["sent", "cancelled", "later", "retry", "failed"]
    detail: str = ""
    until: datetime | None = None
    moved: bool = False

    @classmethod
    def sent(cls, detail: str = "") -> Result:
        return cls("sent", detail)

    @classmethod
    def cancelled(cls, detail: str) -> Result:
        return cls("cancelled", detail)

    @classmethod
    def later(cls, until: datetime, detail: str, *, moved: bool = False) -> Result:
        return cls("later", detail, until=until, moved=moved)


@dataclass
class Job:
    """One claimed action being handled."""

    session: Session
    action: ScheduledAction
    claim: claims.Claim
    clock: Clock
    client: ProlificClient
    setup: ProlificSetup
    waves: Mapping[int, WaveTimeline]
    lease_s: float = claims.LEASE_S
    notes: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        """The time now, by the scheduler's clock."""
        return self.clock()

    @property
    def payload(self) -> dict[str, Any]:
        """The action's payload as last committed."""
        return dict(self.action.payload or {})

    def before_call(self, **payload_changes: Any) -> None:
        """Renew the claim (and save ``payload_changes``), committed, fenced: LostClaim if it was taken over."""
        self.claim = claims.renew(self.session, self.claim, self.now(), self.lease_s)
        if payload_changes:
            payload = {**self.payload, **payload_changes}
            claims.fenced_update(self.session, self.claim, payload=payload)
            self.action.payload = payload
        self.session.commit()

    def commit_fenced(self) -> None:
        """Commit the session's pending changes only if the claim still holds (LostClaim otherwise)."""
        self.claim = claims.renew(self.session, self.claim, self.now(), self.lease_s)
        self.session.commit()

    def require(self, value: str | None, variable: str, purpose: str) -> str:
        """A setting the action needs; ProlificNotConfigured naming the variable when it is missing."""
        if not value:
            raise ProlificNotConfigured(f"{variable} is not set: {purpose}")
        return value

    def later_by(self, seconds: float, detail: str) -> Result:
        """Look again in ``seconds``."""
        return Result.later(self.now() + timedelta(seconds=seconds), detail)
