"""The FastAPI app factory: ``create_app(settings, engine=..., study=..., blobs=...)``.

One app serves one study. The wiring (``voxbank.wiring.web_app``) builds what it takes from the
settings: the web app's own `WebSettings`, the database engine, the loaded study, the blob store and
the embedded voice's opener. On startup it
checks that the database schema is current and creates or updates the study's row and quota cells
from the protocol. Participant pages are server-rendered and work without JavaScript.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from protocols import Study
from storage import migrate
from storage.blobs import BlobStore
from storage.db import make_session_factory, transaction
from survey.journey import Journey
from survey.runtime import StudyRuntime
from survey.study_rows import sync_study
from web import access_log, errors
from web.capability import Signer
from web.limits import BodySizeLimit, RateLimit
from web.options import VoiceOpener, WebSettings
from web.resume_code import ResumeCodes
from web.routes import entry, health, interview, journey, my_data, prolific_webhook, withdrawal
from web.routes import metrics as metrics_route
from web.templating import STATIC_DIR, make_templates

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Study links carry Prolific ids: never pass the address on to another site.
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


def security_headers(livekit_url: str | None) -> dict[str, str]:
    """The headers of every response; in LiveKit mode the page may also connect to the LiveKit server
    (its signalling WebSocket, and the HTTP check livekit-client makes when a join fails)."""
    if not livekit_url:
        return SECURITY_HEADERS
    parts = urlsplit(livekit_url)
    secure = parts.scheme in ("wss", "https")
    origins = f"{'wss' if secure else 'ws'}://{parts.netloc} {'https' if secure else 'http'}://{parts.netloc}"
    policy = SECURITY_HEADERS["Content-Security-Policy"] + f"; connect-src 'self' {origins}"
    return {**SECURITY_HEADERS, "Content-Security-Policy": policy}


WEBHOOK_MAX_BODY_BYTES = 65_536
OFFER_MAX_BODY_BYTES = 65_536


class DatabaseNotReady(RuntimeError):
    """The database schema is missing or older than the code."""


def create_app(settings: WebSettings, *, engine: Engine, study: Study, blobs: BlobStore,
               open_voice: VoiceOpener | None = None) -> FastAPI:
    """Build the web app for ``study`` on ``engine`` (disposed when the app stops); ``open_voice``
    loads the embedded interviewer on the first embedded interview (without it, none is offered)."""
    runtime = StudyRuntime(study)
    database_url = engine.url.render_as_string(hide_password=False)
    factory = make_session_factory(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not migrate.is_up_to_date(database_url):
            raise DatabaseNotReady(
                f"the database at {engine.url.render_as_string(hide_password=True)} is not at the newest "
                "schema; run: voxbank db upgrade"
            )
        access_log.install()  # after uvicorn configured its loggers: no query strings in access lines
        with transaction(factory) as session:
            row = sync_study(session, runtime)
        app.state.journey = Journey(runtime, row.id, settings.contact_email,
                                    retest_study_id=settings.prolific_retest_study_id,
                                    confirm_session=settings.confirm_session,
                                    quota_hold=timedelta(minutes=settings.quota_hold_minutes))
        yield
        engine.dispose()

    app = FastAPI(title="voxbank", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.signer = Signer(settings.secret_key.get_secret_value())
    app.state.resume_codes = ResumeCodes(settings.secret_key.get_secret_value())
    app.state.blob_store = blobs
    app.state.open_voice = open_voice
    app.state.templates = make_templates()
    app.state.runtime = runtime

    every_response = security_headers(settings.livekit_url)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in every_response.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/study/"):
            # Pages hold answers and capabilities: never cache them (the back button refetches).
            response.headers["Cache-Control"] = "no-store"
        return response

    errors.install(app)
    # Exhaustion limits (deploy/SECURITY.md): no body over the limit is read, on any route; rates per address.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       smaller={"/prolific/webhook": WEBHOOK_MAX_BODY_BYTES, "/interview/offer": OFFER_MAX_BODY_BYTES})
    app.state.rate_limit = RateLimit({"entry": settings.rate_limit_entry, "offer": settings.rate_limit_offer,
                                      "webhook": settings.rate_limit_webhook, "resume": settings.rate_limit_resume},
                                     settings.rate_limit_storage_url)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (health, entry, journey, withdrawal, my_data, prolific_webhook, interview):
        app.include_router(module.router)
    app.include_router(metrics_route.router)  # operations: the operator's Prometheus scrape (deploy/)
    install_staff(app, settings)
    return app


def install_staff(app: FastAPI, settings: WebSettings) -> None:
    """The staff dashboard and its JSON API (web/routes/staff, web/staff)."""
    from web.routes.staff import ROUTERS
    from web.staff import errors as staff_errors
    from web.staff.sessions import SessionPolicy

    app.state.staff_session_policy = SessionPolicy(
        max_age_s=settings.staff_session_max_age_s, idle_s=settings.staff_session_idle_s,
        secure_cookie=settings.environment == "production")
    staff_errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
