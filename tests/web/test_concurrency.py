"""A hundred participants at once, each entering twice and double-posting pages: nothing lost, nothing doubled."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from journey_bots import Bot, EndInterview, interview_ended_by, pid, read_form, start_url
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Consent, PageView, Participant, QuotaCell, Response, Visit

PARTICIPANTS = 100
GSS_PAGES = 2


def _both(first: object, second: object) -> list[object]:
    """Run two calls at the same moment (two tabs, a double click) and return both results."""
    results: list[object] = [None, None]
    barrier = threading.Barrier(2)

    def run(index: int, call: object) -> None:
        barrier.wait()
        results[index] = call()  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _participant(base_url: str, n: int, end_interview: EndInterview) -> None:
    with httpx.Client(base_url=base_url, follow_redirects=True, timeout=120) as one, \
            httpx.Client(base_url=base_url, follow_redirects=True, timeout=120) as other:
        # The link opened in two browsers at once: one participant, both browsers hold their place.
        welcome = read_form(one.get(start_url(pid(n))).text)
        data = {**welcome.hidden, "start": "1"}
        first, second = _both(lambda: one.post(welcome.action, data=data),
                              lambda: other.post(welcome.action, data=data))
        assert first.status_code == second.status_code == 200, (first.text[:500], second.text[:500])  # type: ignore[attr-defined]
        bot = Bot(one, pid(n))
        page = one.get("/study/park2024/step")
        for _ in range(3 + GSS_PAGES):  # consent, microphone, interview, then GSS pages
            form = read_form(page.text)
            if form.heading == "The interview":
                end_interview(pid(n))
            answers = bot.answers(form)
            a, b = _both(lambda form=form, answers=answers: one.post(form.action, data=answers),
                         lambda form=form, answers=answers: other.post(form.action, data=answers))
            assert a.status_code == b.status_code == 200  # type: ignore[attr-defined]
            page = one.get("/study/park2024/step")


@pytest.mark.slow
def test_a_hundred_participants_in_parallel_lose_and_duplicate_nothing(
        backend: str, live_server: str, session_factory: sessionmaker[Session]) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        ended = interview_ended_by(session_factory)
        list(pool.map(lambda n: _participant(live_server, n, ended), range(1, PARTICIPANTS + 1)))
    with session_factory() as session:
        assert session.scalar(select(func.count(Participant.id))) == PARTICIPANTS
        assert session.scalar(select(func.count(Visit.id))) == PARTICIPANTS
        assert session.scalar(select(func.count(Consent.id))) == PARTICIPANTS
        assert set(session.scalars(select(Visit.position))) == {3 + GSS_PAGES}
        per_visit = session.execute(
            select(Response.visit_id, func.count(Response.id)).group_by(Response.visit_id)).all()
        assert len(per_visit) == PARTICIPANTS
        assert {count for _, count in per_visit} == {10 * GSS_PAGES}
        views = session.execute(select(PageView.visit_id, func.count(PageView.id))
                                .where(PageView.submitted_at.is_not(None)).group_by(PageView.visit_id)).all()
        assert {count for _, count in views} == {3 + GSS_PAGES}
        total = session.scalars(select(QuotaCell.filled).where(QuotaCell.stratum == "*")).one()
        assert total == PARTICIPANTS, "each participant took exactly one place"
