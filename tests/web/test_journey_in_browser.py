"""End to end in a real browser: a Prolific link, consent, every battery, and back to Prolific with the code.

Headless Chromium (Debian's, through Playwright) drives the real app served by uvicorn against the
test database. Prolific cannot be reached, so the browser's navigation to app.prolific.com is
answered by a stand-in page; the test checks that it was asked for with the study's completion code,
then that the database holds every answer exactly once, in the order shown, with its timing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from journey_bots import SELF_DESCRIPTION, STRATA, interview_ended_by, pid, start_url
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Consent, ExperimentAssignment, GameDecision, PageView, Participant, Response, Visit

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
COMPLETION = "https://app.prolific.com/submissions/complete?cc=C5SBD7ZG"
RECALL = "Two friends fell out over a holiday plan and I helped them find a compromise they both liked."


class Participant_:
    """Answers pages in the browser the way a person would, remembering every answer given."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.answers: dict[str, str] = {}
        self.game_answers: list[dict[str, str]] = []
        self.counter = 0

    def heading(self) -> str:
        return str(self.page.locator("h1").first.inner_text())

    def shot(self, name: str) -> None:
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(self.shots / f"{name}.png"))

    def answer_page(self, *, leave_blank: tuple[str, ...] = ()) -> dict[str, str]:
        """Answer every question on the page (the n-th choice question with option n mod its options)."""
        given: dict[str, str] = {}
        for fieldset in self.page.locator("fieldset.question").all():
            radios = fieldset.locator("input[type=radio]")
            name = str(radios.first.get_attribute("name")).removeprefix("a.")
            if name in leave_blank:
                continue
            choice = radios.nth(self.counter % radios.count())
            choice.check()
            given[name] = str(choice.get_attribute("value"))
            self.counter += 1
        for number in self.page.locator("input[type=number]").all():
            value = str(int(str(number.get_attribute("min"))) + 1)
            number.fill(value)
            given[str(number.get_attribute("name")).removeprefix("a.")] = value
        for area in self.page.locator("textarea").all():
            name = str(area.get_attribute("name")).removeprefix("a.")
            given[name] = SELF_DESCRIPTION if name == "self_description" else RECALL
            area.fill(given[name])
        self.answers.update(given)
        return given

    def save(self) -> None:
        self.page.get_by_role("button", name="Save and continue").click()


@pytest.mark.slow
def test_a_participant_goes_from_prolific_to_completion(live_server: str, session_factory: sessionmaker[Session],
                                                        tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    expect = playwright_api.expect
    shots = tmp_path / "screens"
    shots.mkdir()
    prolific_requests: list[str] = []
    known = {k: v for k, v in STRATA.items() if k not in ("age_band", "gender")}
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        context.set_default_timeout(20_000)

        def prolific(route: Any) -> None:
            prolific_requests.append(route.request.url)
            route.fulfill(status=200, content_type="text/html",
                          body="<!doctype html><title>Prolific</title><h1>Prolific (stand-in)</h1>")

        context.route(re.compile(r"^https://app\.prolific\.com/.*"), prolific)
        page = context.new_page()
        person = Participant_(page, shots)

        # 1. The Prolific link: a welcome page asks the two quota questions the link did not answer.
        page.goto(live_server + start_url(pid(0xE2E), strata=known))
        expect(page.locator("h1")).to_have_text("Welcome")
        assert page.locator("fieldset.question").count() == 2
        person.shot("01-welcome")
        page.get_by_role("radio", name="45-54").check()
        page.get_by_role("radio", name="Female", exact=True).check()
        page.get_by_role("button", name="Start").click()

        # 2. Consent: the document, the scopes as checkboxes; one optional scope left unticked.
        expect(page.locator("h1")).to_have_text("Consent to take part in a research study")
        assert "/study/park2024/step" in page.url and "PROLIFIC_PID" not in page.url
        person.shot("02-consent")
        page.get_by_role("checkbox", name=re.compile("Taking part and how your information is used")).check()
        page.get_by_role("checkbox", name=re.compile("Recording and transcribing your voice")).check()
        page.get_by_role("checkbox", name=re.compile("Sharing summaries with other academic researchers")).check()
        page.get_by_role("button", name="I agree and take part").click()

        # 3. The microphone check, by keyboard alone: Tab to Continue, press Enter.
        expect(page.locator("h1")).to_have_text("Microphone check")
        for _ in range(12):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Continue":
                break
        page.keyboard.press("Enter")

        # 4. The interview step links to the voice interview (tested in tests/interviewer/voice); the
        #    surveys wait until it has ended.
        expect(page.locator("h1")).to_have_text("The interview")
        expect(page.get_by_role("link", name="Start or continue the interview")).to_have_attribute(
            "href", "/study/park2024/interview")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator(".error-summary")).to_contain_text("The interview has not ended yet.")
        expect(page.locator("h1")).to_have_text("The interview")
        interview_ended_by(session_factory)(pid(0xE2E))
        page.get_by_role("button", name="Continue").click()

        # 5. The GSS, 19 pages; on the first, one question is left blank and the skip is confirmed.
        expect(page.locator("h1")).to_have_text("Your views and your life")
        person.answer_page(leave_blank=("natspac",))
        person.shot("03-gss-page")
        page.set_viewport_size({"width": 390, "height": 844})
        person.shot("04-gss-page-phone")
        page.set_viewport_size({"width": 1100, "height": 900})
        person.save()
        expect(page.locator(".error-summary h2")).to_have_text("You left 1 question unanswered")
        person.shot("05-skip-prompt")
        person.save()
        gss_pages = 1
        while person.heading() == "Your views and your life":
            person.answer_page()
            person.save()
            gss_pages += 1
        assert gss_pages == 19

        # 6. The BFI-44 in this participant's own order.
        bfi_pages = 0
        while person.heading() == "How you see yourself":
            if bfi_pages == 0:
                person.shot("06-bfi-page")
            person.answer_page()
            person.save()
            bfi_pages += 1
        assert bfi_pages == 5

        # 7. Five money games, each explaining its payoffs.
        for n in range(1, 6):
            expect(page.locator("h1")).to_have_text(f"Money game {n} of 5")
            expect(page.locator(".instructions")).to_contain_text("bonus")
            person.game_answers.append(person.answer_page())
            if n == 1:
                person.shot("07-game")
            person.save()

        # 8. Five scenarios.
        for n in range(1, 6):
            expect(page.locator("h1")).to_have_text(f"Scenario {n} of 5")
            if n == 1:
                person.shot("08-scenario")
            person.answer_page()
            person.save()

        # 9. The self-description, then the completion page, which sends the browser to Prolific.
        expect(page.locator("h1")).to_have_text("Describe yourself")
        person.answer_page()
        person.save()
        expect(page.locator("strong.code")).to_have_text("C5SBD7ZG")
        person.shot("09-complete")
        page.wait_for_url(COMPLETION, timeout=15_000)
        expect(page.locator("h1")).to_have_text("Prolific (stand-in)")
        browser.close()
    assert prolific_requests == [COMPLETION]
    _assert_stored(session_factory, person.answers, person.game_answers)


def _assert_stored(session_factory: sessionmaker[Session], answers: dict[str, str],
                   game_answers: list[dict[str, str]]) -> None:
    with session_factory() as session:
        participant = session.scalars(select(Participant)).one()
        visit = session.scalars(select(Visit)).one()
        plan = visit.plan
        assert participant.status == "active"
        assert participant.strata["age_band"] == "45_54" and participant.strata["gender"] == "female"
        assert (visit.status, visit.position, visit.current_step) == ("completed", len(plan["pages"]) - 1, "complete")
        consent = session.scalars(select(Consent)).one()
        assert consent.scopes == ["participate", "audio_recording", "share_transcript_open"]

        responses = session.scalars(select(Response)).all()
        keys = [(r.instrument, r.item_id) for r in responses]
        assert len(keys) == len(set(keys)) == 183 + 44 + 7 + 1
        by_instrument: dict[str, list[Response]] = {}
        for row in responses:
            by_instrument.setdefault(row.instrument, []).append(row)
        assert {k: len(v) for k, v in by_instrument.items()} == {
            "gss_core": 183, "bfi44": 44, "self_description": 1, "ames_fiske_2015": 1,
            "cooney_gilbert_wilson_2016": 1, "halevy_halali_2015": 3, "rai_valdesolo_graham_2017": 1,
            "schilke_reimann_cook_2015": 1}
        for instrument in ("gss_core", "bfi44"):
            shown = sorted(by_instrument[instrument], key=lambda r: r.presentation_order)
            assert [r.item_id for r in shown] == plan["item_orders"][instrument]
            assert [r.presentation_order for r in shown] == list(range(1, len(shown) + 1))
        # Every answer is the one given in the browser; the skipped question is stored once, empty.
        for row in responses:
            if row.item_id == "natspac":
                assert (row.value_number, row.value_text) == (None, None)
                continue
            given = answers[row.item_id]
            if row.value_text is not None:
                assert row.value_text == given
            else:
                assert row.value_number == float(given), row.item_id
        # Timing: shown before answered, the duration between them, pages answered in plan order.
        for row in responses:
            assert row.shown_at is not None and row.shown_at <= row.answered_at
            assert row.response_ms == round((row.answered_at - row.shown_at).total_seconds() * 1000)
        views = session.scalars(select(PageView).order_by(PageView.position)).all()
        assert [v.position for v in views] == list(range(len(plan["pages"]) - 1))
        assert all(v.submitted_at is not None for v in views)
        submitted = [v.submitted_at for v in views]
        assert submitted == sorted(submitted)
        assert views[3].views == 1 and views[3].signals["skipped"] == 1

        assignments = session.scalars(select(ExperimentAssignment)).all()
        assert sorted(a.experiment_id for a in assignments) == sorted(plan["experiments_order"])
        assert all((a.wave, a.block_index, a.block_position) == (1, 0, 0) for a in assignments)

        decisions = session.scalars(select(GameDecision).order_by(GameDecision.presentation_order)).all()
        assert [d.game_id for d in decisions] == plan["games_order"]
        for decision, given in zip(decisions, game_answers, strict=True):
            stored = decision.decision.get("amounts") or decision.decision
            assert stored == {key: int(value) for key, value in given.items()}, decision.game_id
            assert decision.protocol_hash == session.scalars(select(GameDecision.protocol_hash)).first()
