"""``GET /metrics``: Prometheus metrics, for the operator's scrape only.

Served only when ``VOXBANK_METRICS_TOKEN`` is set, and only to a request that carries it as a
bearer token (``Authorization: Bearer <token>``); otherwise 404 (not configured) or 401. The
reverse proxy in ``deploy/`` also refuses ``/metrics`` from outside, so the token is a second lock.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from interviewer.metrics import scrape_registry
from web.study_metrics import StudyCollector

router = APIRouter()


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries exactly this bearer token (compared in constant time)."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Every process's metrics plus participants per step and queue depth, in Prometheus's text format."""
    token = request.app.state.settings.metrics_token
    if token is None:
        return Response("metrics are off: set VOXBANK_METRICS_TOKEN\n", status_code=404, media_type="text/plain")
    if not bearer_matches(request.headers.get("authorization"), token.get_secret_value()):
        return Response("a valid bearer token is needed\n", status_code=401, media_type="text/plain",
                        headers={"WWW-Authenticate": "Bearer"})
    state = request.app.state
    study = CollectorRegistry()
    study.register(StudyCollector(state.session_factory, state.settings.broker_url, state.settings.queues))
    return Response(generate_latest(scrape_registry()) + generate_latest(study), media_type=CONTENT_TYPE_LATEST)
