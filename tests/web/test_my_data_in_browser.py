"""The own data page in real Chromium: a participant who finished reads it from the completion page,
downloads their copy and stops sharing in future exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from journey_bots import SLUG, Bot, interview_ended_by, pid
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Consent, Export, ExportParticipant, Interview, Participant, Turn, Visit

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


def shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_a_finished_participant_reads_downloads_and_stops_sharing(
        live_server: str, session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    expect = playwright_api.expect
    shots = tmp_path / "shots"
    shots.mkdir()
    with httpx.Client(base_url=live_server, follow_redirects=True, timeout=60) as http:
        bot = Bot(http, pid(7), end_interview=interview_ended_by(session_factory))
        bot.run(bot.enter())
        cookies = [{"name": c.name, "value": c.value, "url": live_server} for c in http.cookies.jar]
    with session_factory() as session, session.begin():  # what the voice interview and an export leave behind
        me = session.scalars(select(Participant)).one()
        interview = session.scalars(select(Interview).join(Visit, Interview.visit_id == Visit.id)).one()
        interview.started_at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
        interview.ended_at = datetime(2026, 3, 1, 10, 41, tzinfo=UTC)
        for seq, (speaker, text) in enumerate([("interviewer", "Tell me the story of your life."),
                                               ("participant", "I grew up by the sea.")]):
            session.add(Turn(interview_id=interview.id, seq=seq, speaker=speaker, kind="live", text=text,
                             start_s=seq * 5.0, end_s=seq * 5.0 + 4, protocol_hash="0" * 64))
        export = Export(actor="staff:a", tier="restricted", out_path="/tmp/bank", manifest_sha256="0" * 64,
                        participant_count=1, created_at=datetime(2026, 3, 5, tzinfo=UTC))
        session.add(export)
        session.flush()
        session.add(ExportParticipant(export_id=export.id, participant_id=me.id))
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1000, "height": 900}, accept_downloads=True)
        context.set_default_timeout(20_000)
        context.route("https://app.prolific.com/**", lambda route: route.fulfill(status=200, body="Prolific"))
        context.add_cookies(cookies)
        page = context.new_page()
        page.goto(f"{live_server}/study/{SLUG}/step")
        expect(page.locator("h1")).to_have_text("Thank you")  # it sends them to Prolific after 3 seconds
        page.locator("#main").get_by_role("link", name="See the data this study holds about you").click()
        expect(page.locator("h1")).to_have_text("Your data")
        expect(page.get_by_text("5 March 2026: Restricted tier")).to_be_visible()
        shot(page, shots, "02-my-data")

        with page.expect_download() as download:
            page.get_by_role("link", name="Download my answers and transcript").click()
        copy = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert download.value.suggested_filename == f"my-data-{SLUG}.json"
        assert len(copy["answers"]) > 100 and all(answer["question"] for answer in copy["answers"])
        assert copy["transcript_text"] == "Interviewer: Tell me the story of your life.\n\nYou: I grew up by the sea."

        page.get_by_role("button", name="Stop sharing my data in future exports").click()
        expect(page.get_by_role("status")).to_contain_text("your data will not go into any future export")
        expect(page.get_by_text("Your data goes into no future export.")).to_be_visible()
        shot(page, shots, "03-sharing-stopped")
        page.goto(f"{live_server}/study/{SLUG}/step")
        shot(page, shots, "01-completion-page")
        browser.close()
    with session_factory() as session:
        latest = session.scalars(select(Consent).order_by(Consent.id.desc())).first()
        assert latest is not None and "share_transcript_restricted" not in latest.scopes
