"""``/staff/sign-in`` and ``/staff/sign-out``.

The sign-in form is protected against cross-site posting by a double-submit token: a random value in
a SameSite=Strict cookie that the form must repeat. A failed sign-in is committed (it counts towards
the lockout and the per-address limit) and the form is shown again with a message that never says
whether the account exists.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web.deps import FormDep, SessionDep
from web.staff import accounts
from web.staff.access import SignedIn, load_staff, session_policy
from web.staff.errors import CsrfRefused, SigninRefused, SigninThrottled
from web.staff.rendering import render_staff
from web.staff.sessions import SIGNIN_COOKIE, clear_cookie, end_session, open_session, set_cookie

router = APIRouter(prefix="/staff")


def _safe_next(value: str | None) -> str:
    """Only a path of the dashboard or the staff API, never another site."""
    if value and value.startswith(("/staff", "/api/staff/")) and not value.startswith("//") and "\\" not in value:
        return value
    return "/staff"


def _form(request: Request, *, next_path: str, email: str = "", error: str | None = None,
          status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render_staff(request, None, "sign_in.html", {
        "title": "Staff sign-in", "signin_csrf": token, "next": next_path, "email": email, "error": error,
    }, status=status)
    response.set_cookie(SIGNIN_COOKIE, token, max_age=3600, path="/staff/sign-in", httponly=True,
                        samesite="strict", secure=session_policy(request).secure_cookie)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    """The sign-in form (or straight on, when this browser is signed in already)."""
    if load_staff(request, session) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _form(request, next_path=_safe_next(next))


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


@router.post("/sign-in")
def sign_in(request: Request, session: SessionDep, form: FormDep) -> Response:
    """Check the credentials; open a session and go on, or show the form again with why not."""
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    sent = _one(form, "csrf")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused("The sign-in form could not be verified (it may be old, or from another site). "
                          "Please open the sign-in page again.")
    settings = request.app.state.settings
    policy = accounts.SigninPolicy(max_failures=settings.staff_signin_max_failures,
                                   lockout_s=settings.staff_lockout_s,
                                   client_limit=settings.staff_signin_client_limit)
    email, next_path = _one(form, "email"), _safe_next(_one(form, "next"))
    client = request.client.host if request.client else "unknown"
    try:
        user = accounts.sign_in(session, email, _one(form, "password"), _one(form, "code"), client=client,
                                policy=policy)
    except (SigninRefused, SigninThrottled) as error:
        session.commit()
        return _form(request, next_path=next_path, email=email, error=error.message, status=error.status)
    token, _row = open_session(session, user, session_policy(request))
    session.commit()
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(response, token, session_policy(request))
    response.delete_cookie(SIGNIN_COOKIE, path="/staff/sign-in")
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, staff: SignedIn) -> Response:
    """End this session and forget its cookie."""
    if staff.session_row is not None:
        end_session(session, staff.session_row, staff.user)
        session.commit()
    response = RedirectResponse("/staff/sign-in", status_code=303)
    clear_cookie(response, session_policy(request))
    return response
