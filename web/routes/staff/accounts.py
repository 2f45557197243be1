"""``/staff/accounts``: staff accounts (admins only): list, add, disable, reset a password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from storage.models import StaffUser
from web.deps import FormDep, SessionDep
from web.staff import accounts
from web.staff.access import StaffAdmin
from web.staff.errors import StaffInputError, StaffNotFound
from web.staff.rendering import render_staff
from web.staff.roles import Role

router = APIRouter(prefix="/staff/accounts")
NOTICES = {"added": "The account was added.", "disabled": "The account was disabled; its sessions have ended.",
           "reset": "The password was reset; the account's sessions have ended."}


def _one(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


@router.get("")
def list_page(request: Request, session: SessionDep, staff: StaffAdmin, done: str | None = None) -> Response:
    """Every staff account with its role, state and last sign-in; forms to add, disable and reset."""
    return render_staff(request, staff, "accounts.html", {
        "title": "Staff accounts", "accounts": accounts.list_accounts(session), "roles": [r.value for r in Role],
        "notice": NOTICES.get(done or ""),
    })


@router.post("")
def add(session: SessionDep, staff: StaffAdmin, form: FormDep) -> Response:
    """Add an account with the role and first password given."""
    try:
        accounts.add(session, _one(form, "email"), _one(form, "role"), _one(form, "password"), actor=staff.actor)
    except accounts.AccountError as error:
        raise StaffInputError(f"The account was not added: {error}.") from None
    session.commit()
    return RedirectResponse("/staff/accounts?done=added", status_code=303)


def _account(session: SessionDep, staff_id: int) -> StaffUser:
    user = session.get(StaffUser, staff_id)
    if user is None:
        raise StaffNotFound(f"There is no staff account {staff_id}.")
    return user


@router.post("/{staff_id}/disable")
def disable(session: SessionDep, staff: StaffAdmin, staff_id: int, form: FormDep) -> Response:
    """Disable an account (its sessions and API tokens end at once)."""
    user = _account(session, staff_id)
    if _one(form, "confirm") != user.email:
        raise StaffInputError("To disable an account, type its email address in the confirmation box.")
    try:
        accounts.disable(session, user.email, actor=staff.actor)
    except accounts.AccountError as error:
        raise StaffInputError(f"The account was not disabled: {error}.") from None
    session.commit()
    return RedirectResponse("/staff/accounts?done=disabled", status_code=303)


@router.post("/{staff_id}/password")
def reset_password(session: SessionDep, staff: StaffAdmin, staff_id: int, form: FormDep) -> Response:
    """Set a new password for an account (its sessions end; its lockout is lifted)."""
    user = _account(session, staff_id)
    try:
        accounts.reset_password(session, user.email, _one(form, "password"), actor=staff.actor)
    except accounts.AccountError as error:
        raise StaffInputError(f"The password was not reset: {error}.") from None
    session.commit()
    return RedirectResponse("/staff/accounts?done=reset", status_code=303)
