"""Who is asking, and may they: the dependencies every staff route declares.

A staff route declares its rule as a dependency, ``Depends(require(Permission.X))`` (or
``require(None)``: any signed-in account). The rule is data: ``rule_of(route)`` reads it back, and
the route-by-role test (tests/web/staff/test_route_matrix.py) walks every route of the app with it.
Routes that are not staff routes declare theirs by depending on the participant capability
(``web.deps.ParticipantVisit``) or by being listed in ``PUBLIC_ROUTES``.

A browser signs in with a session cookie; every request that changes something must carry the
session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``). The JSON API also takes
``Authorization: Bearer <token>`` (per-account API tokens), which needs no CSRF token because a
browser never sends it by itself.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIWebSocketRoute
from sqlalchemy.orm import Session
from starlette.routing import Mount

from storage.models import StaffSession, StaffUser
from web.deps import SessionDep, get_participant_visit
from web.staff.accounts import actor_of
from web.staff.errors import CsrfRefused, Forbidden, SignInRequired
from web.staff.roles import Permission, Role, allows
from web.staff.sessions import COOKIE, SessionPolicy, load_api_token, load_session

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

PUBLIC_ROUTES: dict[str, str] = {
    "/healthz": "liveness probe",
    "/readyz": "readiness probe: names failing dependencies, never secrets or personal data",
    "/metrics": "the operator's Prometheus scrape, refused without the bearer token (VOXBANK_METRICS_TOKEN)",
    "/static": "stylesheets and scripts",
    "/study/{slug}/start": "the Prolific link: entering the study hands out the participant capability",
    "/study/{slug}/resume": "a participant's resume code on a new device: rate limited, hands out the capability",
    "/prolific/webhook": "Prolific's deliveries, checked by their signature",
    "/staff/sign-in": "the staff sign-in form",
}
"""Paths anyone may reach, and why. Every other route must declare a staff rule or need the participant capability."""


@dataclass
class StaffContext:
    """The signed-in staff account of a request, and the session (None when it came with an API token)."""

    user: StaffUser
    session_row: StaffSession | None

    @property
    def actor(self) -> str:
        """The account as the audit log names it."""
        return actor_of(self.user)

    @property
    def role(self) -> Role:
        """The account's role."""
        return Role(self.user.role)

    def can(self, permission: Permission) -> bool:
        """Whether the account's role allows ``permission``."""
        return allows(self.user.role, permission)

    @property
    def csrf_token(self) -> str:
        """The token this session's forms carry."""
        return self.session_row.csrf_token if self.session_row else ""


def session_policy(request: Request) -> SessionPolicy:
    """The app's staff session policy (set in web.app)."""
    return request.app.state.staff_session_policy  # type: ignore[no-any-return]


def load_staff(request: Request, session: Session) -> StaffContext | None:
    """The staff account of this request (session cookie, or a bearer token on the API), or None."""
    authorization = request.headers.get("authorization", "")
    if request.url.path.startswith("/api/") and authorization.lower().startswith("bearer "):
        user = load_api_token(session, authorization[7:].strip())
        return StaffContext(user, None) if user else None
    loaded = load_session(session, request.cookies.get(COOKIE), session_policy(request))
    return StaffContext(loaded[1], loaded[0]) if loaded else None


class require:  # noqa: N801 - used like a function: Depends(require(Permission.X))
    """The dependency a staff route declares: a signed-in account whose role allows ``permission``."""

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission

    async def __call__(self, request: Request, session: SessionDep) -> StaffContext:
        staff = load_staff(request, session)
        if staff is None:
            raise SignInRequired("Please sign in with your staff account to see this page.")
        if self.permission is not None and not staff.can(self.permission):
            raise Forbidden(f"Your role ({staff.user.role}) does not allow this: it needs permission to "
                            f"{self.permission.value}.")
        if request.method not in SAFE_METHODS and staff.session_row is not None:
            await _check_csrf(request, staff.session_row)
        return staff

    def __repr__(self) -> str:
        return f"require({self.permission})"


async def _check_csrf(request: Request, row: StaffSession) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form(max_files=0, max_fields=50)
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), row.csrf_token.encode()):
        raise CsrfRefused("This form did not carry this session's security token (it may be from an older page or "
                          "another site). Please reload the page and try again; nothing was changed.")


def _calls(dependant: Any) -> list[Any]:
    found = []
    for dependency in getattr(dependant, "dependencies", []):
        found.append(dependency.call)
        found.extend(_calls(dependency))
    return found


@dataclass(frozen=True)
class RouteInfo:
    """One route of the app as served: its full path, methods, and the dependencies it resolves."""

    path: str
    methods: frozenset[str]
    dependant: Any
    kind: str


def app_routes(app: Any) -> list[RouteInfo]:
    """Every route the app serves, with routers' prefixes applied (FastAPI may keep included routers nested)."""
    out = []
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for context in contexts:
            original = getattr(context, "original_route", context)
            kind = "mount" if isinstance(original, Mount) else ("websocket" if isinstance(original, APIWebSocketRoute)
                                                                else "http")
            dependant = getattr(context, "dependant", None) or getattr(original, "dependant", None)
            out.append(RouteInfo(str(getattr(context, "path", "")), frozenset(getattr(context, "methods", None) or ()),
                                 dependant, kind))
    return out


@dataclass(frozen=True)
class RouteRule:
    """Who may use a route: ``public``, ``participant``, or ``staff`` with a permission (None: any account)."""

    audience: str
    permission: Permission | None = None


def rule_of(route: RouteInfo) -> RouteRule | None:
    """The rule a route declares, or None when it declares none (the matrix test fails on those)."""
    calls = _calls(route.dependant)
    staff_rules = [call for call in calls if isinstance(call, require)]
    if staff_rules:
        return RouteRule("staff", staff_rules[0].permission)
    if get_participant_visit in calls:
        return RouteRule("participant")
    if route.path in PUBLIC_ROUTES:
        return RouteRule("public")
    return None


Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_AGGREGATES))]
SignedIn = Annotated[StaffContext, Depends(require(None))]
Researcher = Annotated[StaffContext, Depends(require(Permission.READ_PARTICIPANT_DATA))]
Operator = Annotated[StaffContext, Depends(require(Permission.OPERATE_JOBS))]
Withdrawer = Annotated[StaffContext, Depends(require(Permission.WITHDRAW_PARTICIPANTS))]
Exporter = Annotated[StaffContext, Depends(require(Permission.MAKE_EXPORTS))]
StaffAdmin = Annotated[StaffContext, Depends(require(Permission.MANAGE_STAFF))]
