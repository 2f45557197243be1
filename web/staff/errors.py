"""The staff side's errors, each with its HTTP status (rendered by the app's one handler, ``web.errors``).

``SignInRequired`` is answered differently: a browser is sent to the sign-in page, an API client
gets 401 (see ``install``).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from survey.errors import SurveyError
from web.schemas import ErrorOut

SIGN_IN_PATH = "/staff/sign-in"


class StaffError(SurveyError):
    """Base class of the staff side's errors."""


class SignInRequired(StaffError):
    """No valid staff session or API token."""

    status = 401
    title = "Please sign in"


class Forbidden(StaffError):
    """The account's role does not allow this."""

    status = 403
    title = "Your role does not allow this"


class CsrfRefused(StaffError):
    """A form or request arrived without this session's CSRF token."""

    status = 403
    title = "This form could not be verified"


class SigninRefused(StaffError):
    """Wrong email, password or code; or a disabled account (never said which)."""

    status = 401
    title = "Sign-in failed"


class SigninThrottled(StaffError):
    """Too many failed sign-ins: the account is locked, or this address must wait."""

    status = 429
    title = "Too many failed sign-ins"


class StaffNotFound(StaffError):
    """A staff page names a participant, interview, recording or export that does not exist."""

    status = 404
    title = "Not found"


class StaffInputError(StaffError):
    """A staff form's values are not acceptable; the message names the field."""

    status = 400
    title = "This could not be done"


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON API (answered with JSON, never redirected)."""
    return request.url.path.startswith("/api/")


def install(app: FastAPI) -> None:
    """Register the sign-in redirect (browsers) and 401 (API) for ``SignInRequired``."""

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, error: SignInRequired) -> Response:
        if is_api(request) or "application/json" in request.headers.get("accept", ""):
            return JSONResponse(ErrorOut(error=error.title, detail=error.message).model_dump(), status_code=401,
                                headers={"WWW-Authenticate": 'Bearer realm="voxbank staff"'})
        target = request.url.path if request.method == "GET" else "/staff"
        if request.method == "GET" and request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"{SIGN_IN_PATH}?next={quote(target, safe='')}", status_code=303)
