"""``POST /prolific/webhook``: signed by Prolific or refused; each event recorded once; APPROVED settles
the pending approval."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from retest_fixtures import add_completer, submission
from sqlalchemy import select

from storage.models import AuditEvent, ScheduledAction
from survey.prolific_api.webhooks import latest_statuses, sign
from voxbank.settings import load_settings
from voxbank.wiring import web_app

SECRET = "whsec-test-secret"


@pytest.fixture
def hooks(tmp_path, database_url, runtime) -> Iterator[TestClient]:
    settings = load_settings(environment="test", data_dir=tmp_path / "data", database_url=database_url,
                             prolific_webhook_secret=SECRET)
    with TestClient(web_app(settings, study=runtime.protocol)) as client:
        yield client


def deliver(client: TestClient, payload: dict, *, event_id: str = "evt-1", secret: str = SECRET,
            timestamp: str | None = None, signature: str | None = None):
    body = json.dumps(payload).encode()
    stamp = timestamp or str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Event-ID": event_id, "X-Timestamp": stamp,
               "X-Prolific-Request-Timestamp": stamp,
               "X-Prolific-Request-Signature": signature or sign(secret, stamp, body)}
    return client.post("/prolific/webhook", content=body, headers=headers)


def event(status: str, n: int = 1) -> dict:
    return {"event_type": "submission.status.change", "resource_id": submission(n), "status": status,
            "study_id": "65a0f00d1234567890abcdef"}


def test_a_signed_event_is_recorded_once_and_approved_settles_the_approval(
        hooks, session_factory, study_id, make_scheduler) -> None:
    participant = add_completer(session_factory, study_id, 1)
    make_scheduler().plan()
    assert deliver(hooks, event("AWAITING REVIEW"), event_id="evt-1").json() == {"outcome": "recorded"}
    assert deliver(hooks, event("APPROVED"), event_id="evt-2").json() == {"outcome": "recorded"}
    assert deliver(hooks, event("APPROVED"), event_id="evt-2").json() == {"outcome": "duplicate"}
    with session_factory() as session:
        recorded = session.scalars(select(AuditEvent).where(AuditEvent.action == "prolific.submission_status")
                                   .order_by(AuditEvent.id)).all()
        assert [(e.target, e.details["status"], e.details["event_id"]) for e in recorded] == [
            (f"prolific_submission:{submission(1)}", "AWAITING_REVIEW", "evt-1"),
            (f"prolific_submission:{submission(1)}", "APPROVED", "evt-2")]
        assert latest_statuses(session, [submission(1)]) == {submission(1): "APPROVED"}
        approval = session.scalars(select(ScheduledAction).where(ScheduledAction.participant_id == participant,
                                                                 ScheduledAction.kind == "approval")).one()
    assert (approval.status, approval.last_error) == ("sent", "approved on Prolific")


def test_unsigned_forged_or_stale_deliveries_are_refused(hooks, session_factory, study_id) -> None:
    add_completer(session_factory, study_id, 1)
    forged = deliver(hooks, event("RETURNED"), secret="not-our-secret")
    assert forged.status_code == 401 and "Refused: the signature does not match." in forged.text
    unsigned = hooks.post("/prolific/webhook", json=event("RETURNED"), headers={"Accept": "application/json"})
    assert unsigned.status_code == 401
    assert unsigned.json()["detail"] == ("Refused: the request is not signed (X-Prolific-Request-Signature and "
                                         "X-Prolific-Request-Timestamp).")
    stale = deliver(hooks, event("RETURNED"), timestamp=str(int(time.time()) - 3 * 24 * 3600))
    assert stale.status_code == 401 and "too old" in stale.text
    with session_factory() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "prolific.submission_status")).all() == []


def test_other_events_and_unknown_submissions_are_acknowledged_and_ignored(hooks, session_factory, study_id) -> None:
    assert deliver(hooks, {"event_type": "study.status.change", "resource_id": "x"}).json() == {"outcome": "ignored"}
    assert deliver(hooks, event("APPROVED", n=99)).json() == {"outcome": "unknown"}
    bad = deliver(hooks, {"event_type": "submission.status.change", "status": "APPROVED"})
    assert bad.status_code == 401 and "the event names no submission" in bad.text


def test_the_subscription_handshake_echoes_the_hook_secret(hooks) -> None:
    answer = hooks.post("/prolific/webhook", headers={"X-Hook-Secret": "abc123def"})
    assert (answer.status_code, answer.headers["X-Hook-Secret"], answer.json()) == (200, "abc123def",
                                                                                    {"outcome": "handshake"})


def test_without_a_secret_nothing_is_accepted(client_without_secret) -> None:
    answer = client_without_secret.post("/prolific/webhook", json=event("APPROVED"),
                                        headers={"Accept": "application/json", "X-Prolific-Request-Signature": "x",
                                                 "X-Prolific-Request-Timestamp": "1"})
    assert answer.status_code == 503
    assert answer.json()["detail"] == "Set VOXBANK_PROLIFIC_WEBHOOK_SECRET to the webhook subscription's secret."


@pytest.fixture
def client_without_secret(settings, runtime) -> Iterator[TestClient]:
    with TestClient(web_app(settings, study=runtime.protocol)) as client:
        yield client


def test_an_oversized_delivery_is_refused_unread(hooks) -> None:
    answer = hooks.post("/prolific/webhook", content=b"{" + b" " * 70_000 + b"}",
                        headers={"Accept": "application/json", "Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["detail"]) == (
        413, "The request body is larger than 65536 bytes; nothing was read or saved.")


def _statuses(session_factory) -> list[str]:
    with session_factory() as session:
        return [e.details["status"] for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "prolific.submission_status").order_by(AuditEvent.id))]


def test_a_captured_delivery_replayed_under_a_new_event_id_is_a_duplicate(hooks, session_factory, study_id) -> None:
    add_completer(session_factory, study_id, 1)
    body = json.dumps(event("RETURNED")).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Timestamp": stamp, "X-Prolific-Request-Timestamp": stamp,
               "X-Prolific-Request-Signature": sign(SECRET, stamp, body)}
    first = hooks.post("/prolific/webhook", content=body, headers={**headers, "X-Event-ID": "evt-1"})
    replay = hooks.post("/prolific/webhook", content=body, headers={**headers, "X-Event-ID": "evt-forged"})
    assert (first.json(), replay.json()) == ({"outcome": "recorded"}, {"outcome": "duplicate"})
    assert _statuses(session_factory) == ["RETURNED"]


def test_future_dated_signatures_and_events_are_refused(hooks, session_factory, study_id) -> None:
    add_completer(session_factory, study_id, 1)
    ahead = deliver(hooks, event("RETURNED"), timestamp=str(int(time.time()) + 3600))
    assert ahead.status_code == 401 and "Refused: the signed request is dated in the future." in ahead.text
    body = json.dumps(event("RETURNED")).encode()
    stamp = str(int(time.time()))
    in_2100 = hooks.post("/prolific/webhook", content=body, headers={
        "Content-Type": "application/json", "X-Event-ID": "evt-2100", "X-Timestamp": "4102444800",
        "X-Prolific-Request-Timestamp": stamp, "X-Prolific-Request-Signature": sign(SECRET, stamp, body)})
    assert in_2100.status_code == 401 and "Refused: the event is dated after its signature." in in_2100.text
    assert _statuses(session_factory) == []


def test_an_approval_is_not_undone_by_an_earlier_stage_arriving_later(hooks, session_factory, study_id) -> None:
    add_completer(session_factory, study_id, 1)
    now = int(time.time())
    deliver(hooks, event("APPROVED"), event_id="evt-approved", timestamp=str(now - 60))
    deliver(hooks, event("AWAITING REVIEW"), event_id="evt-late", timestamp=str(now))
    with session_factory() as session:
        assert latest_statuses(session, [submission(1)]) == {submission(1): "APPROVED"}
