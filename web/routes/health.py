"""``GET /healthz`` (cheap liveness) and ``GET /readyz`` (are the dependencies there?)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from web import readiness
from web.deps import SessionDep

router = APIRouter()


@router.get("/healthz")
def healthz(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready when the database (newest schema), the broker and this process's models are there; else 503."""
    settings = request.app.state.settings
    checks = readiness.run_checks(request.app.state.engine, settings.broker_url, settings.check_models)
    ready = all(check.ok for check in checks)
    body = {"status": "ready" if ready else "not ready",
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks}}
    return JSONResponse(body, status_code=200 if ready else 503)
