"""What ``/readyz`` checks before a load balancer sends this process participants.

* the database answers and its schema is the newest;
* the broker accepts a connection (transcription jobs can be queued when an interview ends);
* the models this process needs can be found (`voxbank.readiness.check_models`, handed in by the
  wiring): in embedded WebRTC mode the web process holds the interviews itself, so the Whisper
  model, the voice and the LLM must be there; in LiveKit mode the agent workers hold them.

Each check is bounded by a short timeout and never raises: it returns a `Check`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from storage.migrate import current_revision, head_revision

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


ModelCheck = Callable[[], Check]
"""Whether this process's models can be found (built by the wiring, which knows the voice settings)."""


def run_checks(engine: Engine, broker_url: str, check_models: ModelCheck | None) -> list[Check]:
    """Every readiness check, in order; none raises."""
    checks = [check_database(engine), check_broker(broker_url)]
    if check_models is not None:
        checks.append(check_models())
    return checks
