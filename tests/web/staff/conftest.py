"""Staff fixtures: one account per role (signed in on its own client), and a helper to sign in."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from voxbank.settings import Settings, load_settings
from web.staff import accounts
from web.staff.roles import Role

sys.path.insert(0, str(Path(__file__).parent))  # staff_data, beside this file (see tests/web/conftest.py)

PASSWORD = "correct horse battery staple"


@dataclass
class StaffMember:
    """A staff account of one role and a browser signed in with it."""

    email: str
    role: Role
    client: TestClient

    @property
    def csrf(self) -> str:
        """This session's CSRF token, as the dashboard's forms carry it."""
        return csrf_of(self.client.get("/staff").text)


def csrf_of(html: str) -> str:
    """The CSRF token in a staff page's forms."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def add_account(session_factory: sessionmaker[Session], email: str, role: Role, password: str = PASSWORD) -> None:
    """Create an enabled staff account."""
    with session_factory() as session, session.begin():
        accounts.add(session, email, role.value, password, actor="system:test")


def sign_in(client: TestClient, email: str, password: str = PASSWORD, code: str = "") -> object:
    """Open the sign-in page and submit it as a person would; returns the final response."""
    page = client.get("/staff/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return client.post("/staff/sign-in", data={"csrf": token.group(1), "email": email, "password": password,
                                                "code": code, "next": "/staff"})


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The test settings, with a Prolific webhook secret so that the webhook route is in service."""
    return load_settings(environment="test", data_dir=tmp_path / "data", database_url=database_url,
                         prolific_webhook_secret="test-webhook-secret")


@pytest.fixture
def staff(client: TestClient, make_client: Callable[[], TestClient],
          session_factory: sessionmaker[Session]) -> dict[Role, StaffMember]:
    """One signed-in account per role, each in its own browser."""
    members = {}
    for role in Role:
        email = f"{role.value}@lab.example.org"
        add_account(session_factory, email, role)
        browser = make_client()
        response = sign_in(browser, email)
        assert response.status_code == 200 and "Overview" in response.text, response.text[:500]
        members[role] = StaffMember(email, role, browser)
    return members


@pytest.fixture
def person(client: TestClient, make_client: Callable[[], TestClient], session_factory: sessionmaker[Session]):
    """A consented participant with a stored interview (turns and both channels), in their own browser."""
    from staff_data import make_person

    return make_person(make_client(), session_factory, client.app.state.blob_store)
