"""The overview's numbers are the database's, after bots have walked the journey."""

from __future__ import annotations

import re

from journey_bots import Bot, pid
from sqlalchemy import func, select

from storage.models import Consent, QuotaCell, Visit
from web.staff.roles import Role


def _funnel(html: str) -> dict[tuple[str, str], int]:
    rows = re.findall(r'<tr data-wave="(\d)" data-stage="([^"]+)"><td>\d</td><td>[^<]+</td><td class="num">(\d+)</td>',
                      html)
    return {(wave, stage): int(count) for wave, stage, count in rows}


def _quota(html: str) -> dict[tuple[str, str], tuple[int, int]]:
    out = {}
    for stratum, body in re.findall(r'<table class="quota" data-stratum="([^"]+)">(.*?)</table>', html, re.S):
        for cell, filled, target in re.findall(
                r'<tr data-cell="([^"]+)"><td>[^<]*</td><td class="num">(\d+)</td><td class="num">(\d+)</td>', body):
            out[(stratum, cell)] = (int(filled), int(target))
    return out


def test_funnel_and_quota_numbers_equal_the_database_after_bots_ran(staff, make_client, session_factory):
    for n in (1, 2):  # two complete wave 1
        bot = Bot(make_client(), pid(n))
        bot.run(bot.enter())
    consenting = Bot(make_client(), pid(3))
    consenting.step(consenting.enter())  # consents, stops at the microphone check
    Bot(make_client(), pid(4)).enter()  # sees the consent page and leaves

    html = staff[Role.VIEWER].client.get("/staff").text
    funnel = _funnel(html)
    assert funnel == {("1", "entered"): 4, ("1", "consented"): 3, ("1", "interview ended"): 2,
                      ("1", "batteries done"): 2, ("1", "completed"): 2, ("2", "invited"): 0, ("2", "entered"): 0,
                      ("2", "completed"): 0}
    with session_factory() as session:
        wave1 = select(func.count()).select_from(Visit).where(Visit.wave == 1)
        assert funnel[("1", "entered")] == session.scalar(wave1)
        assert funnel[("1", "consented")] == session.scalar(select(func.count(func.distinct(Consent.participant_id))))
        assert funnel[("1", "completed")] == session.scalar(select(func.count()).select_from(Visit).where(
            Visit.status == "completed"))
        cells = {(c.stratum, c.cell): (c.filled, c.capacity) for c in session.scalars(select(QuotaCell))}
    quota = _quota(html)
    assert quota == {key: value for key, value in cells.items() if key != ("*", "*")}
    assert quota[("gender", "female")][0] == 4
    assert '<span class="big" data-metric="completion-rate">50%</span>' in html
    assert "<svg" in html and 'aria-label="Participants per stage of the funnel' in html
