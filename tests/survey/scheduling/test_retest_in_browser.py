"""End to end: wave 1, the invitation two weeks later, and wave 2 taken in headless Chromium.

The real app runs under uvicorn on this test's database. Wave 1 is taken by the journey's bot over
HTTP; its completion is then moved 15 days into the past, and the scheduler sends the invitation to
the Prolific stand-in. In the browser, the invitation's link (Prolific's study page, answered by a
stand-in page) leads to the study link Prolific would open, with the participant's PID and the
wave-2 study and submission ids. Every page of wave 2 is answered; the database must then hold the
wave-2 answers on a wave-2 visit of the same participant, with the wave-1 experiment conditions.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from retest_fixtures import RETEST_STUDY, pid, submission
from sqlalchemy import func, select, update

from storage.models import ExperimentAssignment, GameDecision, Participant, Response, ScheduledAction, Visit, utcnow
from survey.scheduling import shifted_clock
from voxbank.settings import load_settings
from voxbank.wiring import web_app

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
FILL = """() => {
  const groups = new Set([...document.querySelectorAll('input[type=radio]')].map(r => r.name));
  for (const name of groups) document.querySelector(`input[type=radio][name="${name}"]`).checked = true;
  for (const n of document.querySelectorAll('input[type=number]')) n.value = n.min || '0';
  for (const t of document.querySelectorAll('textarea'))
    t.value = 'Two friends argued about money they owed each other and I helped them settle it.';
}"""


@pytest.fixture
def live_server(tmp_path: Path, database_url: str, runtime, prolific) -> Iterator[str]:
    settings = load_settings(environment="test", data_dir=tmp_path / "data", database_url=database_url,
                             prolific_retest_study_id=RETEST_STUDY)
    app = web_app(settings, study=runtime.protocol)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.mark.slow
def test_wave_2_in_a_browser_stores_answers_for_the_same_participant(live_server, session_factory, make_scheduler,
                                                                    prolific, clock) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium")
    from journey_bots import STUDY_ID, Bot, interview_ended_by, session_id

    # Wave 1 through the app; Prolific knows the submission.
    with httpx.Client(base_url=live_server, follow_redirects=True, timeout=30) as http:
        bot = Bot(http, pid(1), end_interview=interview_ended_by(session_factory))
        assert "Your completion code is" in bot.run(bot.enter()).text
    prolific.add_submission(session_id(1), STUDY_ID, pid(1))
    with session_factory() as session, session.begin():
        session.execute(update(Visit).where(Visit.wave == 1).values(completed_at=utcnow() - timedelta(days=15)))

    # The scheduler, at the real time: the invitation goes out.
    clock.now = utcnow()
    scheduler = make_scheduler()
    scheduler.clock = shifted_clock(utcnow())
    assert [(o.kind, o.result) for o in scheduler.run_due().outcomes] == [("approval", "sent"), ("invitation", "sent")]
    [invitation] = prolific.messages_to(pid(1))
    link = re.search(r"https://app\.prolific\.com/studies/\w+", invitation["body"]).group(0)
    external = (f"{live_server}/study/park2024/start?PROLIFIC_PID={pid(1)}&STUDY_ID={RETEST_STUDY}"
                f"&SESSION_ID={submission(1, 2)}")

    pages = 0
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.set_default_timeout(20_000)

        def prolific_site(route: Any) -> None:  # Prolific's pages: the study page links to the external URL
            body = (f'<!doctype html><title>Prolific</title><h1>Prolific (stand-in)</h1>'
                    f'<a id="start" href="{external}">Open study link in a new window</a>')
            route.fulfill(status=200, content_type="text/html", body=body)

        context.route(re.compile(r"^https://app\.prolific\.com/.*"), prolific_site)
        page = context.new_page()
        page.goto(link)
        page.click("#start")
        while "Your completion code is" not in page.content():
            assert pages < 60, "wave 2 did not end"
            heading = page.locator("h1").first.inner_text()
            assert heading not in ("Consent to take part in a research study", "The interview"), heading
            page.evaluate(FILL)
            page.get_by_role("button", name="Save and continue").click()
            page.wait_for_load_state()
            pages += 1
        browser.close()

    with session_factory() as session:
        participant = session.scalars(select(Participant)).one()
        first, second = session.scalars(select(Visit).where(Visit.participant_id == participant.id)
                                        .order_by(Visit.wave)).all()
        assert (second.wave, second.status, second.prolific_study_id, second.prolific_session_id) == (
            2, "completed", RETEST_STUDY, submission(1, 2))
        assert pages == len(second.plan["pages"]) - 1 == 19 + 5 + 5 + 5
        counts = dict(session.execute(select(Response.wave, func.count()).join(Visit, Response.visit_id == Visit.id)
                                      .where(Visit.participant_id == participant.id).group_by(Response.wave)).all())
        assert counts[2] == counts[1] - 1  # every wave-1 answer again but the self-description
        assert session.scalar(select(func.count()).select_from(Response).where(
            Response.visit_id == second.id, Response.wave != 2)) == 0
        assert session.scalar(select(func.count()).select_from(GameDecision).where(
            GameDecision.visit_id == second.id)) == 5
        conditions = {(a.wave, a.experiment_id): a.condition_id for a in session.scalars(select(ExperimentAssignment))}
        assert len(conditions) == 10
        assert all(conditions[(2, e)] == c for (w, e), c in conditions.items() if w == 1)

    # Completing wave 2 cancels what was left and approves the wave-2 submission.
    prolific.add_submission(submission(1, 2), RETEST_STUDY, pid(1))
    report = scheduler.run_due()
    assert str(report.planned) == "1 planned, 0 moved to a new due time, 3 cancelled"
    assert [(o.kind, o.result) for o in report.outcomes] == [("approval", "sent")]
    with session_factory() as session:
        left = session.scalars(select(ScheduledAction.status).where(ScheduledAction.kind != "approval")).all()
    assert sorted(left) == ["cancelled", "cancelled", "cancelled", "sent"]
