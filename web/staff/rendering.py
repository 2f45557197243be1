"""Rendering a staff page: the common context (the account, its CSRF token, the navigation it may use)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from web.staff.access import StaffContext, app_routes
from web.staff.roles import Permission

NAVIGATION = [
    ("Overview", "/staff", Permission.VIEW_AGGREGATES),
    ("Live", "/staff/live", Permission.VIEW_AGGREGATES),
    ("Participants", "/staff/participants", Permission.READ_PARTICIPANT_DATA),
    ("Quality", "/staff/quality", Permission.READ_PARTICIPANT_DATA),
    ("Jobs", "/staff/jobs", Permission.VIEW_AGGREGATES),
    ("Exports", "/staff/exports", Permission.MAKE_EXPORTS),
    ("Study", "/staff/study", Permission.VIEW_AGGREGATES),
    ("Accounts", "/staff/accounts", Permission.MANAGE_STAFF),
]


def _paths(request: Request) -> set[str]:
    paths: set[str] | None = getattr(request.app.state, "staff_paths", None)
    if paths is None:
        paths = {route.path for route in app_routes(request.app)}
        request.app.state.staff_paths = paths
    return paths


def render_staff(request: Request, staff: StaffContext | None, template: str, context: dict[str, Any], *,
                 status: int = 200) -> Response:
    """Render ``staff/<template>`` with the account, its CSRF token and the pages its role may open."""
    routes = _paths(request)
    full = {
        "staff": staff,
        "csrf": staff.csrf_token if staff else "",
        "nav": [(label, path) for label, path, permission in NAVIGATION
                if staff is not None and staff.can(permission) and path in routes],
        "current_path": request.url.path,
        "study_title": request.app.state.runtime.title,
        **context,
    }
    response = request.app.state.templates.TemplateResponse(request, f"staff/{template}", full, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response  # type: ignore[no-any-return]
