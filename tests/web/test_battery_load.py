"""Participants walking the whole battery at once, with double posts, lose and duplicate nothing.

The small version of ``python -m bench.battery_load`` (which runs 50 on PostgreSQL and measures page
latency): the same walk and the same row-by-row comparison with a participant who walked alone.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from journey_bots import pid
from sqlalchemy.orm import Session, sessionmaker

from bench.battery_load import compare, holdings, interview_finished, walk_battery

AT_ONCE = 3


def test_participants_walking_the_whole_battery_at_once_hold_what_one_alone_holds(
        live_server: str, session_factory: sessionmaker[Session]) -> None:
    end = interview_finished(session_factory)
    walk_battery(live_server, 1, end)
    reference = holdings(session_factory)[pid(1)]
    assert reference["completed_visits"] == 1 and reference["responses"] > 0 and reference["game_decisions"] > 0
    numbers = range(2, 2 + AT_ONCE)
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        walked = list(pool.map(lambda n: walk_battery(live_server, n, end), numbers))
    assert all(len(pages) == reference["submitted_pages"] for pages in walked), "every participant reached the end"
    assert compare(holdings(session_factory), reference, [pid(n) for n in numbers]) == (0, 0)
