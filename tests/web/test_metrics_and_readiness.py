"""Operators' endpoints: /metrics for Prometheus (bearer token only), /readyz for load balancers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from journey_bots import Bot, pid
from prometheus_client.parser import text_string_to_metric_families

from protocols import Study
from voxbank.settings import Settings, load_settings
from voxbank.wiring import web_app

TOKEN = "scrape-token-0123456789"


def app_with(settings: Settings, study: Study, **changes: object) -> FastAPI:
    return web_app(load_settings(**{**settings.model_dump(), **changes}), study=study)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture
def scraped(settings: Settings, protocol_study: Study) -> TestClient:
    with TestClient(app_with(settings, protocol_study, metrics_token=TOKEN), follow_redirects=True) as client:
        yield client


def test_metrics_are_off_until_a_token_is_set(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.text == "metrics are off: set VOXBANK_METRICS_TOKEN\n"


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
def test_metrics_need_the_bearer_token(scraped: TestClient, header: str | None) -> None:
    response = scraped.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_scrape_counts_participants_at_each_step_and_jobs_waiting(scraped: TestClient) -> None:
    for participant in (pid(1), pid(2)):
        Bot(scraped, participant).enter()
    response = scraped.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    values = samples(response.text)
    at_consent = values[("voxbank_participants", (("status", "started"), ("step", "consent"), ("wave", "1")))]
    assert at_consent == 2
    assert values[("voxbank_queue_depth", (("queue", "default"),))] == 0
    assert values[("voxbank_queue_depth", (("queue", "gpu"),))] == 0
    assert ("voxbank_response_latency_seconds_count", ()) in values


def test_readyz_is_ready_when_database_broker_and_models_are_there(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert {name: check["ok"] for name, check in response.json()["checks"].items()} == {
        "database": True, "broker": True, "models": True}


def test_readyz_names_an_unreachable_broker_while_healthz_stays_cheap(settings: Settings,
                                                                    protocol_study: Study) -> None:
    app = app_with(settings, protocol_study, broker_url="redis://127.0.0.1:1/0")
    with TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not ready"
        assert ready.json()["checks"]["broker"] == {"ok": False, "detail": "cannot connect (OperationalError)"}
        assert client.get("/healthz").status_code == 200


def test_readyz_names_an_llm_endpoint_that_does_not_answer(settings: Settings, protocol_study: Study) -> None:
    app = app_with(settings, protocol_study, llm_base_url="http://127.0.0.1:1/v1")
    with TestClient(app) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    models = ready.json()["checks"]["models"]
    assert models["ok"] is False
    assert models["detail"] == "llm: http://127.0.0.1:1/v1 does not answer (ConnectError)"


def test_in_livekit_mode_the_web_process_needs_no_models(settings: Settings, protocol_study: Study) -> None:
    app = app_with(settings, protocol_study, livekit_url="wss://livekit.example.org", livekit_api_key="key",
                   livekit_api_secret="secret", stt_model="/no/such/model")
    with TestClient(app) as client:
        models = client.get("/readyz").json()["checks"]["models"]
    assert models == {"ok": True, "detail": "LiveKit mode: the agent workers hold the models"}
