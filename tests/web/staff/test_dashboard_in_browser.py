"""The dashboard in a real browser (Debian's Chromium through Playwright) against the app served by uvicorn.

Journey bots first take three participants through the real app (two to completion, one to the
microphone check). Then: an admin signs in and reads the funnel and the quotas, which must equal the
database; an interview that starts running appears on the live page without a reload; a researcher
plays a recording by clicking a transcript turn (the media element's currentTime advances) and the
audit log holds the read; an admin makes an export from the page. Screenshots go to
``$VOXBANK_SHOTS`` (default: the test's temporary folder) for a person to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import add_account
from journey_bots import Bot, interview_ended_by, pid
from sqlalchemy import func, select, update
from staff_data import TURNS, store_interview

from storage.models import AuditEvent, Consent, Export, Interview, Participant, QuotaCell, Visit, utcnow
from web.staff.roles import Role

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/staff")
    playwright_api.expect(page.locator("h1")).to_have_text("Staff sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    playwright_api.expect(page.locator("h1")).to_have_text("Overview")


@pytest.mark.slow
def test_staff_run_the_study_from_the_browser(live_server: str, app, session_factory, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    expect = playwright_api.expect
    shots = Path(os.environ.get("VOXBANK_SHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    add_account(session_factory, "admin@lab.example.org", Role.ADMIN)
    add_account(session_factory, "researcher@lab.example.org", Role.RESEARCHER)
    with httpx.Client(base_url=live_server, follow_redirects=True, timeout=30) as participant_browser:
        for n in (1, 2):
            bot = Bot(participant_browser, pid(n), end_interview=interview_ended_by(session_factory))
            bot.run(bot.enter())
            participant_browser.cookies.clear()
        third = Bot(participant_browser, pid(3))
        third.step(third.enter())  # consents; now at the microphone check
    with session_factory() as session:
        visit_id = session.scalars(select(Visit.id).join(Participant).where(Participant.prolific_pid == pid(3))).one()
        pseudonym = session.scalars(select(Participant.pseudonym_id).where(Participant.prolific_pid == pid(3))).one()
    interview_id, recordings = store_interview(session_factory, app.state.blob_store, visit_id)

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        admin = browser.new_context(viewport={"width": 1280, "height": 900})
        admin.set_default_timeout(20_000)
        page = admin.new_page()

        # 1. An admin signs in; the funnel and the quotas equal the database.
        _sign_in(page, live_server, "admin@lab.example.org")
        funnel = {(row.get_attribute("data-wave"), row.get_attribute("data-stage")):
                  int(row.locator("td").nth(2).inner_text()) for row in page.locator("#funnel tbody tr").all()}
        with session_factory() as session:
            assert funnel[("1", "entered")] == session.scalar(
                select(func.count()).select_from(Visit).where(Visit.wave == 1)) == 3
            assert funnel[("1", "consented")] == session.scalar(
                select(func.count(func.distinct(Consent.participant_id)))) == 3
            assert funnel[("1", "completed")] == session.scalar(
                select(func.count()).select_from(Visit).where(Visit.status == "completed")) == 2
            cells = {(c.stratum, c.cell): (c.filled, c.capacity) for c in session.scalars(select(QuotaCell))
                     if c.stratum != "*"}
        shown = {}
        for table in page.locator("table.quota").all():
            stratum = table.get_attribute("data-stratum")
            for row in table.locator("tbody tr").all():
                numbers = row.locator("td.num").all_inner_texts()
                shown[(stratum, row.get_attribute("data-cell"))] = (int(numbers[0]), int(numbers[1]))
        assert shown == cells
        page.screenshot(path=str(shots / "01-overview.png"), full_page=True)
        page.set_viewport_size({"width": 820, "height": 1180})  # a tablet held upright
        page.screenshot(path=str(shots / "02-overview-tablet.png"))
        page.set_viewport_size({"width": 1280, "height": 900})

        # 2. An interview that starts running appears on the live page without a reload.
        page.get_by_role("link", name="Live").click()
        expect(page.locator("#none-running")).to_be_visible()
        with session_factory() as session, session.begin():
            session.execute(update(Interview).where(Interview.id == interview_id).values(
                status="in_progress", ended_at=None, started_at=utcnow(), checkpoint={"position": 2}))
        expect(page.locator(f'#running tr[data-interview="{interview_id}"]')).to_be_visible(timeout=15_000)
        expect(page.locator("[data-live-status]")).to_contain_text("Updated")
        page.screenshot(path=str(shots / "03-live.png"), full_page=True)

        # 3. An admin makes an export from the page.
        page.get_by_role("link", name="Exports").click()
        page.get_by_label("Make an export").select_option("open")
        page.get_by_role("button", name="Make export").click()
        expect(page.locator(".notice")).to_contain_text("was written")
        with session_factory() as session:
            export = session.scalars(select(Export)).one()
        expect(page.locator(f'tr[data-export="{export.id}"]')).to_contain_text("staff:admin@lab.example.org")
        page.screenshot(path=str(shots / "04-exports.png"), full_page=True)
        for name in ("Quality", "Jobs", "Study", "Accounts"):
            page.get_by_role("link", name=name, exact=True).click()
            expect(page.locator("h1")).to_contain_text(name if name != "Accounts" else "Staff accounts")
            page.screenshot(path=str(shots / f"05-{name.lower()}.png"), full_page=True)

        # 4. A researcher plays a recording by clicking a turn; the media element's time advances.
        researcher = browser.new_context(viewport={"width": 1280, "height": 900})
        researcher.set_default_timeout(20_000)
        rpage = researcher.new_page()
        _sign_in(rpage, live_server, "researcher@lab.example.org")
        rpage.get_by_role("link", name="Participants").click()
        rpage.get_by_role("link", name=pseudonym).click()
        expect(rpage.locator("h1")).to_contain_text(pseudonym)
        turn = rpage.locator(".transcript li", has_text=TURNS[1][3])
        turn.click()
        audio = rpage.locator('audio[data-channel="participant"]')
        rpage.wait_for_function("a => !a.paused && a.currentTime > 4.0", arg=audio.element_handle(), timeout=15_000)
        expect(turn).to_have_class(re.compile("playing"))
        rpage.screenshot(path=str(shots / "06-participant-playing.png"))
        rpage.screenshot(path=str(shots / "07-participant-full.png"), full_page=True)
        browser.close()

    with session_factory() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "recording.read")).all()
        transcript_reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "transcript.read")).all()
    assert reads and {e.actor for e in reads} == {"staff:researcher@lab.example.org"}
    assert {e.details["recording_id"] for e in reads} >= {recordings["participant"]}
    assert [(e.actor, e.target) for e in transcript_reads] == [("staff:researcher@lab.example.org",
                                                                f"interview:{interview_id}")]
