"""Unauthenticated requests cannot exhaust the server: bodies are limited while read, entries and webhooks
are rate-limited, abandoned quota places come back, and handshakes do not fill the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from journey_bots import SLUG, Bot, pid, start_url
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from protocols import Study
from storage.models import AuditEvent, Participant, QuotaCell, Visit, utcnow
from voxbank.settings import Settings
from voxbank.wiring import web_app

JSON = {"Accept": "application/json"}


@pytest.fixture
def limited(settings: Settings, protocol_study: Study) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"rate_limit_entry": "5/minute", "rate_limit_webhook": "3/minute",
                                             "max_body_bytes": 4096})
    with TestClient(web_app(configured, study=protocol_study), follow_redirects=True) as client:
        yield client


def test_a_declared_oversized_body_is_refused_unread_on_every_route(limited: TestClient) -> None:
    for path in (f"/study/{SLUG}/start", f"/study/{SLUG}/step", f"/study/{SLUG}/withdraw",
                 f"/study/{SLUG}/interview/offer", "/prolific/webhook", "/healthz"):
        response = limited.post(path, content=b"x" * 5000, headers=JSON)
        assert response.status_code == 413, path
        assert response.json()["detail"].startswith("The request body is larger than")


def test_a_streamed_body_is_cut_off_at_the_limit(limited: TestClient) -> None:
    def endless() -> Iterator[bytes]:
        for _ in range(10_000):  # 10 MB if it were all read
            yield b"y" * 1000

    response = limited.post(f"/study/{SLUG}/start", content=endless(),
                            headers={**JSON, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413, response.text


def test_the_webhook_and_the_offer_take_smaller_bodies(client: TestClient) -> None:
    assert client.post("/prolific/webhook", content=b"{}" + b" " * 70_000, headers=JSON).status_code == 413
    assert client.post(f"/study/{SLUG}/interview/offer", content=b"{}" + b" " * 70_000,
                       headers=JSON).status_code == 413


def test_an_offer_without_a_capability_is_refused_before_its_body_is_parsed(client: TestClient) -> None:
    response = client.post(f"/study/{SLUG}/interview/offer", content=b"{" * 60_000, headers=JSON)
    assert response.status_code == 401  # not 422: the body was never parsed


def test_an_entry_flood_from_one_address_is_stopped_and_says_when_to_retry(limited: TestClient) -> None:
    answers = [limited.get(start_url(pid(100 + n)), headers=JSON) for n in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert answers[-1].json()["error"] == "Too many requests"
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60


def test_the_flood_does_not_lock_out_a_genuine_participant_elsewhere(limited: TestClient) -> None:
    for n in range(6):
        limited.get(start_url(pid(100 + n)))
    genuine = TestClient(limited.app, follow_redirects=True, client=("203.0.113.7", 50000))
    assert genuine.get(start_url(pid(1))).status_code == 200


def test_one_prolific_id_is_limited_whatever_the_address(limited: TestClient) -> None:
    codes = [TestClient(limited.app, client=(f"198.51.100.{n}", 40000)).get(start_url(pid(9))).status_code
             for n in range(6)]
    assert codes == [200] * 5 + [429]


def test_webhook_deliveries_are_rate_limited(limited: TestClient) -> None:
    codes = [limited.post("/prolific/webhook", headers={**JSON, "X-Hook-Secret": f"secret-{n:04d}"}).status_code
             for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_handshakes_are_audited_once_per_secret_and_only_when_well_formed(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    for _ in range(5):
        assert client.post("/prolific/webhook", headers={"X-Hook-Secret": "a-real-hook-secret"}).status_code == 200
    assert client.post("/prolific/webhook", headers={**JSON, "X-Hook-Secret": "<script>"}).status_code == 401
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "prolific.webhook_handshake")) == 1


def test_places_held_by_entries_that_never_consent_come_back_after_the_hold(
        settings: Settings, protocol_study: Study, session_factory: sessionmaker[Session]) -> None:
    configured = settings.model_copy(update={"quota_hold_minutes": 30})
    with TestClient(web_app(configured, study=protocol_study), follow_redirects=True) as client:
        idle = Bot(client, pid(1))
        idle.enter()  # takes a place, then goes no further
        with session_factory() as session:
            held = session.scalar(select(QuotaCell.filled).where(QuotaCell.stratum == "*"))
        with session_factory() as session, session.begin():
            session.execute(update(Visit).values(started_at=utcnow() - timedelta(minutes=31)))
        Bot(TestClient(client.app, follow_redirects=True), pid(2)).enter()  # the next entry sweeps
        with session_factory() as session:
            statuses = dict(session.execute(select(Participant.prolific_pid, Participant.status)).all())
            assert statuses == {pid(1): "lapsed", pid(2): "active"}
            assert session.scalar(select(QuotaCell.filled).where(QuotaCell.stratum == "*")) == held
        back = client.get(start_url(pid(1)))  # the idle participant returns: a place again, if free
        assert back.status_code == 200
        with session_factory() as session:
            assert session.scalar(select(Participant.status).where(Participant.prolific_pid == pid(1))) == "active"
            assert session.scalar(select(QuotaCell.filled).where(QuotaCell.stratum == "*")) == held + 1
