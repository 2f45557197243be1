"""Signing in and out: sessions that end, forms that need their token, lockout and the per-address limit."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from conftest import PASSWORD, add_account, csrf_of, sign_in
from sqlalchemy import select, update

from storage.models import AuditEvent, StaffSession, StaffUser, utcnow
from web.staff import accounts
from web.staff.roles import Role
from web.staff.sessions import COOKIE


def test_a_signed_in_admin_sees_the_overview_and_the_cookie_is_httponly_and_strict(make_client, session_factory):
    add_account(session_factory, "ana@lab.example.org", Role.ADMIN)
    browser = make_client()
    response = sign_in(browser, "ana@lab.example.org")
    assert response.status_code == 200
    assert "<h1>Overview</h1>" in response.text and "ana@lab.example.org" in response.text
    cookie = next(h for h in response.history[0].headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # only in production, which serves over HTTPS
    with session_factory() as session:
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "staff:ana@lab.example.org")
                               ).all() == ["staff.sign_in"]


def test_a_wrong_password_is_refused_without_saying_whether_the_account_exists(make_client, session_factory):
    add_account(session_factory, "ana@lab.example.org", Role.ADMIN)
    browser = make_client()
    wrong = sign_in(browser, "ana@lab.example.org", "not the password at all")
    unknown = sign_in(browser, "nobody@lab.example.org", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert accounts.REFUSED in response.text
    assert browser.get("/staff", follow_redirects=False).headers["location"] == "/staff/sign-in?next=%2Fstaff"


def test_a_sign_in_posted_without_the_forms_token_is_refused(make_client, session_factory):
    add_account(session_factory, "ana@lab.example.org", Role.ADMIN)
    browser = make_client()
    browser.get("/staff/sign-in")
    response = browser.post("/staff/sign-in", data={"csrf": "forged", "email": "ana@lab.example.org",
                                                    "password": PASSWORD})
    assert response.status_code == 403
    assert "The sign-in form could not be verified" in response.text
    assert COOKIE not in browser.cookies


def test_a_staff_form_posted_without_the_sessions_csrf_token_changes_nothing(staff, session_factory):
    admin = staff[Role.ADMIN].client
    for data in ({"email": "eve@lab.example.org", "role": "admin", "password": PASSWORD},
                 {"email": "eve@lab.example.org", "role": "admin", "password": PASSWORD, "csrf": "guessed"}):
        response = admin.post("/staff/accounts", data=data)
        assert response.status_code == 403
        assert "did not carry this session&#39;s security token" in response.text
    with session_factory() as session:
        assert accounts.find(session, "eve@lab.example.org") is None
    added = admin.post("/staff/accounts", data={"email": "eve@lab.example.org", "role": "viewer",
                                                "password": PASSWORD, "csrf": staff[Role.ADMIN].csrf})
    assert added.status_code == 200 and "The account was added." in added.text


def test_five_failures_in_a_row_lock_the_account_even_for_the_right_password(make_client, session_factory):
    add_account(session_factory, "ana@lab.example.org", Role.ADMIN)
    browser = make_client()
    for attempt in range(5):
        assert sign_in(browser, "ana@lab.example.org", f"wrong password {attempt}").status_code == 401
    locked = sign_in(browser, "ana@lab.example.org")
    assert locked.status_code == 429
    assert "This account is locked after too many failed sign-ins. Try again in 15 minute(s)" in locked.text
    assert COOKIE not in browser.cookies
    with session_factory() as session:
        user = accounts.find(session, "ana@lab.example.org")
        assert user is not None and user.locked_until is not None
        actions = session.scalars(select(AuditEvent.details).where(AuditEvent.action == "staff.sign_in_failed")).all()
        assert [d["failures"] for d in actions] == [1, 2, 3, 4, 5] and "locked_until" in actions[-1]
    # An admin's password reset lifts the lock.
    with session_factory() as session, session.begin():
        accounts.reset_password(session, "ana@lab.example.org", "a brand new password", actor="system:test")
    assert sign_in(browser, "ana@lab.example.org", "a brand new password").status_code == 200


def test_an_address_with_too_many_failures_must_wait_whatever_the_account(make_client, session_factory):
    add_account(session_factory, "ana@lab.example.org", Role.ADMIN)
    browser = make_client()
    for n in range(20):
        sign_in(browser, f"guess{n}@lab.example.org", "password guess 123")
    response = sign_in(browser, "ana@lab.example.org")
    assert response.status_code == 429
    assert "Too many failed sign-ins from this address" in response.text


def test_an_expired_session_sends_the_browser_back_to_sign_in(staff, session_factory):
    viewer = staff[Role.VIEWER].client
    assert viewer.get("/staff").status_code == 200
    with session_factory() as session, session.begin():
        session.execute(update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = viewer.get("/staff/participants?status=active", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/sign-in?next=%2Fstaff%2Fparticipants%3Fstatus%3Dactive"


def test_a_session_idle_for_longer_than_the_idle_limit_ends(staff, session_factory):
    viewer = staff[Role.VIEWER].client
    with session_factory() as session, session.begin():
        session.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(seconds=3601)))
    assert viewer.get("/staff", follow_redirects=False).status_code == 303


def test_disabling_an_account_ends_its_open_sessions_at_once(staff, session_factory):
    researcher = staff[Role.RESEARCHER]
    assert researcher.client.get("/staff").status_code == 200
    with session_factory() as session:
        staff_id = session.scalars(select(StaffUser.id).where(StaffUser.email == researcher.email)).one()
    admin = staff[Role.ADMIN]
    done = admin.client.post(f"/staff/accounts/{staff_id}/disable", data={"csrf": admin.csrf,
                                                                         "confirm": researcher.email})
    assert "The account was disabled; its sessions have ended." in done.text
    assert researcher.client.get("/staff", follow_redirects=False).status_code == 303
    assert sign_in(researcher.client, researcher.email).status_code == 401


def test_signing_out_ends_the_session_on_the_server(staff, session_factory):
    viewer = staff[Role.VIEWER]
    stolen = viewer.client.cookies[COOKIE]
    response = viewer.client.post("/staff/sign-out", data={"csrf": viewer.csrf})
    assert response.status_code == 200 and "Staff sign-in" in response.text
    viewer.client.cookies.set(COOKIE, stolen)  # a copy of the cookie kept from before is worth nothing now
    assert viewer.client.get("/staff", follow_redirects=False).status_code == 303


def test_an_account_with_a_second_factor_needs_its_current_code(make_client, session_factory):
    add_account(session_factory, "ana@lab.example.org", Role.ADMIN)
    with session_factory() as session, session.begin():
        _user, uri = accounts.enrol_totp(session, "ana@lab.example.org", actor="system:test")
    secret = pyotp.parse_uri(uri).secret
    browser = make_client()
    assert sign_in(browser, "ana@lab.example.org").status_code == 401
    assert sign_in(browser, "ana@lab.example.org", code="000000" if pyotp.TOTP(secret).now() != "000000"
                   else "111111").status_code == 401
    response = sign_in(browser, "ana@lab.example.org", code=pyotp.TOTP(secret).now())
    assert response.status_code == 200 and "<h1>Overview</h1>" in response.text


def test_a_viewer_is_refused_the_participant_pages_with_a_message_naming_the_permission(staff):
    response = staff[Role.VIEWER].client.get("/staff/participants")
    assert response.status_code == 403
    assert "Your role (viewer) does not allow this: it needs permission to read transcripts" in response.text
    assert csrf_of(staff[Role.VIEWER].client.get("/staff").text)
