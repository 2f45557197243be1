"""``voxbank staff``: accounts from the command line, each change naming the admin who made it."""

from __future__ import annotations

from sqlalchemy import select

from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import AuditEvent, StaffUser
from web.staff.passwords import verify_password

PASSWORD = "a long enough password\n"


def _rows(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        users = {u.email: u for u in session.scalars(select(StaffUser))}
        events = [(e.actor, e.action) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    engine.dispose()
    return users, events


def test_the_first_account_is_an_admin_and_later_ones_name_the_admin_who_adds_them(empty_database_url):
    migrate.upgrade(empty_database_url)
    env = {"database_url": empty_database_url, "environment": "test"}

    def voxbank(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        import os
        import subprocess
        import sys

        environment = {k: v for k, v in os.environ.items() if not k.startswith("VOXBANK_")}
        environment.update({f"VOXBANK_{k.upper()}": v for k, v in env.items()})
        return subprocess.run([sys.executable, "-m", "voxbank", *args], input=stdin, capture_output=True, text=True,
                              env=environment, timeout=300)

    first = voxbank("staff", "add", "viewer@lab.org", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    assert first.returncode == 2
    assert "there is no admin yet: the first account must be an admin (--role admin)" in first.stderr
    admin = voxbank("staff", "add", "Ana@Lab.org", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert (admin.returncode, admin.stdout) == (0, "added ana@lab.org as admin\n")

    no_by = voxbank("staff", "add", "ben@lab.org", "--role", "researcher", "--password-stdin", stdin=PASSWORD)
    assert no_by.returncode == 2 and "--by: name the enabled admin making this change" in no_by.stderr
    bad_role = voxbank("staff", "add", "ben@lab.org", "--role", "boss", "--by", "ana@lab.org", "--password-stdin",
                       stdin=PASSWORD)
    assert bad_role.returncode == 1
    assert "not added: 'boss' is not a role; choose one of: viewer, researcher, operator, admin" in bad_role.stderr
    short = voxbank("staff", "add", "ben@lab.org", "--role", "researcher", "--by", "ana@lab.org", "--password-stdin",
                    stdin="short\n")
    assert "not added: the password must have at least 12 characters" in short.stderr
    ben = voxbank("staff", "add", "ben@lab.org", "--role", "researcher", "--by", "ana@lab.org", "--password-stdin",
                  stdin=PASSWORD)
    assert ben.returncode == 0, ben.stderr
    by_researcher = voxbank("staff", "disable", "ana@lab.org", "--by", "ben@lab.org")
    assert by_researcher.returncode == 2 and "--by: ben@lab.org is a researcher, not an admin" in by_researcher.stderr

    reset = voxbank("staff", "reset-password", "ben@lab.org", "--by", "ana@lab.org", "--password-stdin",
                    stdin="another long password\n")
    assert reset.returncode == 0, reset.stderr
    last_admin = voxbank("staff", "disable", "ana@lab.org", "--by", "ana@lab.org")
    assert "not disabled: this is the last enabled admin account; add another admin first" in last_admin.stderr
    disabled = voxbank("staff", "disable", "ben@lab.org", "--by", "ana@lab.org")
    assert disabled.returncode == 0

    listing = voxbank("staff", "list")
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:3] == ["ana@lab.org", "admin", "enabled"]
    assert lines[1].split()[:3] == ["ben@lab.org", "researcher", "disabled"]

    users, events = _rows(empty_database_url)
    assert verify_password(users["ben@lab.org"].password_hash, "another long password")
    assert users["ben@lab.org"].password_hash.startswith("$argon2id$")
    assert events == [("system:cli-bootstrap", "staff.add"), ("staff:ana@lab.org", "staff.add"),
                      ("staff:ana@lab.org", "staff.password_reset"), ("staff:ana@lab.org", "staff.disable")]
