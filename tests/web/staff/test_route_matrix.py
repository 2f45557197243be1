"""Every route of the app, asked by everyone: who gets in, who is sent to sign in, who is refused.

The rule of each route is read from the route itself (``web.staff.access.rule_of``): a staff route
declares ``require(Permission.X)``, a participant route depends on the capability cookie, and a
public route is listed in ``PUBLIC_ROUTES``. A route with none of these fails the first test, so a
new route cannot slip in without a rule. The second test then asks every route as an anonymous
browser, a participant (with their capability cookie) and a signed-in account of each role, and
checks the answer against the rule: allowed, the sign-in page, 401 or 403. A public route checks its
own credentials (the webhook's signature, the sign-in form's token) and must never send anyone to sign in.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from staff_data import Person

from web.staff.access import RouteInfo, app_routes, rule_of
from web.staff.roles import Role, allows

SAFE = {"GET", "HEAD"}


def test_every_route_of_the_app_declares_who_may_use_it(app: FastAPI) -> None:
    routes = app_routes(app)
    assert len(routes) > 20
    missing = [f"{sorted(route.methods)} {route.path}" for route in routes if rule_of(route) is None]
    assert missing == [], ("these routes declare no access rule: add require(...) to a staff route, the "
                           "participant capability to a participant route, or list a public one in PUBLIC_ROUTES")


def _url(route: RouteInfo, values: dict[str, str]) -> str:
    if route.kind == "mount":
        return route.path + "/staff.css"
    names = re.findall(r"{(\w+)(?::\w+)?}", route.path)
    unknown = [name for name in names if name not in values]
    assert not unknown, f"the matrix has no sample value for {unknown} in {route.path}: add one to path_values"
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], route.path)


def _outcome(response) -> str:  # type: ignore[no-untyped-def]
    if response.status_code in (302, 303, 307) and response.headers["location"].startswith("/staff/sign-in?next="):
        return "sign-in"
    if response.status_code in (401, 403):
        return str(response.status_code)
    return "allowed"


def _expected(route: RouteInfo, principal: str) -> str:
    rule = rule_of(route)
    assert rule is not None
    if rule.audience == "public":
        return "public"
    if rule.audience == "participant":
        return "allowed" if principal == "participant" else "401"
    if principal in ("anonymous", "participant"):
        return "401" if route.path.startswith("/api/") else "sign-in"
    return "allowed" if allows(principal, rule.permission) else "403"


@pytest.fixture
def path_values(person: Person, staff) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A real value for every path parameter the app's routes use."""
    from sqlalchemy import select

    from storage.models import Export, SafetyEvent, ScheduledAction, StaffUser, utcnow

    app = person.client.app
    with app.state.session_factory() as session, session.begin():
        viewer_id = session.scalars(select(StaffUser.id).where(StaffUser.email == staff[Role.VIEWER].email)).one()
        action = ScheduledAction(participant_id=person.participant_id, kind="invitation", due_at=utcnow(),
                                 status="failed", idempotency_key="matrix-test", last_error="Prolific said 500")
        folder = app.state.settings.exports_dir / "matrix"
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text('{"counts": {"participants": 0}}')
        export = Export(actor="staff:admin@lab.example.org", tier="open", out_path=str(folder),
                        manifest_sha256="0" * 64, participant_count=0)
        event = SafetyEvent(interview_id=person.interview_id, turn_seq=1, question_id="q", signal="distress",
                            score=0.9, source="classifier")
        session.add_all([action, export, event])
        session.flush()
        action_id, export_id, event_id = action.id, export.id, event.id
    return {"action_id": str(action_id), "export_id": str(export_id), "slug": "park2024", "event_id": str(event_id),
            "pseudonym": person.pseudonym, "staff_id": str(viewer_id),
            "interview_id": str(person.interview_id), "recording_id": str(person.recording_ids["participant"])}


def test_each_route_answers_each_kind_of_user_as_its_rule_says(app: FastAPI, make_client, person: Person, staff,
                                                               path_values: dict[str, str]) -> None:
    browsers: dict[str, TestClient] = {"anonymous": make_client(), "participant": person.client}
    csrf: dict[str, str] = {}
    for role, member in staff.items():
        browsers[role.value] = member.client
        csrf[role.value] = member.csrf
    # Signing out last, so the other requests still find each session open.
    routes = sorted((r for r in app_routes(app) if r.kind != "websocket"), key=lambda r: r.path == "/staff/sign-out")
    wrong = []
    checked = 0
    for route in routes:
        url = _url(route, path_values)
        for method in sorted(route.methods - {"HEAD"}) or ["GET"]:
            for principal, browser in browsers.items():
                data = {"csrf": csrf[principal]} if principal in csrf else {}
                response = browser.request(method, url, data=data if method not in SAFE else None,
                                           follow_redirects=False)
                checked += 1
                got, want = _outcome(response), _expected(route, principal)
                if want == "public":  # checks its own credentials (a signature, a form token), never a session
                    got = "public" if got != "sign-in" else got
                if got != want or response.status_code >= 500:
                    wrong.append(f"{method} {route.path} as {principal}: {response.status_code} ({got}), want {want}")
                elif (want == "allowed" and route.path.startswith("/staff") and method == "GET"
                      and rule_of(route).audience == "staff" and response.status_code != 200):  # type: ignore[union-attr]
                    wrong.append(f"{method} {route.path} as {principal}: {response.status_code}, want a page (200)")
    assert wrong == [], "\n".join(wrong)
    assert checked >= len(routes) * len(browsers)


def test_nothing_a_viewer_may_open_shows_a_prolific_id(app: FastAPI, person: Person, staff,
                                                       path_values: dict[str, str]) -> None:
    """Every GET a viewer is allowed (pages and API), with the person's interview live and a safety event and
    a failed action of theirs stored, answers without the person's Prolific id."""
    from sqlalchemy import select, update

    from storage.models import Interview, Participant

    with app.state.session_factory() as session, session.begin():
        prolific_pid = session.scalars(select(Participant.prolific_pid)
                                       .where(Participant.id == person.participant_id)).one()
        session.execute(update(Interview).where(Interview.id == person.interview_id)
                        .values(status="in_progress", ended_at=None))
    viewer = staff[Role.VIEWER].client
    read = []
    for route in app_routes(app):
        rule = rule_of(route)
        if (route.kind != "http" or "GET" not in route.methods or rule is None or rule.audience != "staff"
                or not allows(Role.VIEWER.value, rule.permission) or route.path == "/staff/sign-out"):
            continue
        response = viewer.get(_url(route, path_values))
        assert response.status_code == 200, route.path
        assert prolific_pid not in response.text, f"{route.path} shows a Prolific id to a viewer"
        read.append(route.path)
    assert {"/staff", "/staff/live", "/staff/live/rows", "/staff/jobs", "/staff/study", "/api/staff/live"} <= set(read)
    assert person.pseudonym[:8] in viewer.get("/staff/live/rows").text  # the live row is there, by pseudonym
