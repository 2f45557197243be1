"""Many participants at once through the whole wave-1 battery against a real server: nothing lost, nothing
duplicated, and how long a page takes.

    python -m bench.battery_load [--db postgresql|sqlite] [--participants 50] [--postgres-url URL]

``voxbank db upgrade`` and ``voxbank serve`` run in subprocesses on a scratch database (a new
PostgreSQL database on ``--postgres-url``, dropped afterwards, or a SQLite file). One participant
first walks the battery alone: what the database holds for them is the reference. Then
``--participants`` walk it at once, one thread each, every one from the study link through the
consent, the GSS, the BFI-44, the money games, the scenarios and the self-description to the
completion page, answering every question; every fourth page is posted twice at the same moment
from two browsers holding the same place (a double click, two tabs). The voice interview step is
left as a finished voice interview leaves it (an ``interviews`` row, completed; the voice path has
its own bench, ``bench.voice_pilot``).

Afterwards every participant must hold exactly what the reference holds: one participant, visit
and consent row, the visit completed, the same number of answers, game decisions and submitted
page views. ``lost`` counts rows short of that and ``duplicated`` rows over it, summed over
participants. A page's latency is from pressing "Save and continue" to the next page arriving
(the POST and its redirect). The last line printed is JSON, with the load average it ran under;
timings on a shared machine are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from bench.served import start_server
from storage.models import Consent, GameDecision, Interview, PageView, Participant, Response, Visit
from tests.web.journey_bots import Bot, pid, read_form

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SLUG = "park2024"
DOUBLE_EVERY = 4
"""Every this-many-th page is posted twice at once from two browsers."""
PAGE_LIMIT = 80


@contextmanager
def scratch_database(kind: str, server_url: str, folder: Path) -> Iterator[str]:
    """A new, empty database: a PostgreSQL database made on ``server_url`` (dropped afterwards) or a SQLite file."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'voxbank.db'}"
        return
    import psycopg

    admin_url = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"voxbank_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def interview_finished(factory: sessionmaker[Session]) -> Callable[[str], None]:
    """What a finished voice interview leaves behind for the participant with this PID: a completed row."""

    def end(participant: str) -> None:
        with factory() as session, session.begin():
            visit = session.scalars(select(Visit).join(Participant, Visit.participant_id == Participant.id)
                                    .where(Participant.prolific_pid == participant, Visit.wave == 1)).one()
            session.add(Interview(visit_id=visit.id, mode="voice", guide_id="avp", protocol_version="bench",
                                  protocol_hash="0" * 64, status="completed"))

    return end


def _both(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
    """Two calls at the same moment (a double click, two tabs)."""
    results: list[Any] = [None, None]
    barrier = threading.Barrier(2)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results[0], results[1]


def walk_battery(base_url: str, n: int, end_interview: Callable[[str], None],
                 on_page: Callable[[], None] | None = None) -> list[float]:
    """Participant ``n`` from the study link to the completion page; the seconds each page took."""
    timings: list[float] = []
    with httpx.Client(base_url=base_url, follow_redirects=True, timeout=300) as one, \
            httpx.Client(base_url=base_url, follow_redirects=True, timeout=300) as other:
        bot = Bot(one, pid(n), end_interview=end_interview)
        page = bot.enter()
        other.cookies.update(one.cookies)  # the second browser holds the same place
        while "Your completion code is" not in page.text:
            if page.status_code != 200 or bot.pages >= PAGE_LIMIT:
                raise RuntimeError(f"participant {n} stopped at page {bot.pages}: {page.status_code} {page.text[:300]}")
            form = read_form(page.text)
            started = time.perf_counter()
            if bot.pages % DOUBLE_EVERY == DOUBLE_EVERY - 1:
                answers = bot.answers(form)
                bot.history.append(form.heading)
                bot.pages += 1
                if form.heading == "The interview":
                    end_interview(pid(n))
                first, second = _both(partial(one.post, form.action, data=answers),
                                      partial(other.post, form.action, data=answers))
                if second.status_code != 200:
                    raise RuntimeError(f"participant {n}'s second browser got {second.status_code}")
                page = first
            else:
                page = bot.step(page)
            timings.append(time.perf_counter() - started)
            if on_page is not None:
                on_page()
    return timings


def holdings(factory: sessionmaker[Session]) -> dict[str, dict[str, int]]:
    """Per participant (PID): how many rows of each kind the database holds for them."""
    kinds: dict[str, Any] = {
        "participants": select(Participant.prolific_pid, func.count(Participant.id)).group_by(Participant.prolific_pid),
        "visits": select(Participant.prolific_pid, func.count(Visit.id)).join(Visit.participant)
        .group_by(Participant.prolific_pid),
        "completed_visits": select(Participant.prolific_pid, func.count(Visit.id)).join(Visit.participant)
        .where(Visit.status == "completed").group_by(Participant.prolific_pid),
        "consents": select(Participant.prolific_pid, func.count(Consent.id))
        .join(Consent, Consent.participant_id == Participant.id).group_by(Participant.prolific_pid),
        "responses": select(Participant.prolific_pid, func.count(Response.id)).join(Visit.participant)
        .join(Response, Response.visit_id == Visit.id).group_by(Participant.prolific_pid),
        "game_decisions": select(Participant.prolific_pid, func.count(GameDecision.id)).join(Visit.participant)
        .join(GameDecision, GameDecision.visit_id == Visit.id).group_by(Participant.prolific_pid),
        "submitted_pages": select(Participant.prolific_pid, func.count(PageView.id)).join(Visit.participant)
        .join(PageView, PageView.visit_id == Visit.id).where(PageView.submitted_at.is_not(None))
        .group_by(Participant.prolific_pid),
    }
    out: dict[str, dict[str, int]] = {}
    with factory() as session:
        for kind, query in kinds.items():
            for prolific_pid, count in session.execute(query).all():
                out.setdefault(prolific_pid, {})[kind] = count
    return out


def compare(found: dict[str, dict[str, int]], reference: dict[str, int], pids: list[str]) -> tuple[int, int]:
    """(lost, duplicated): rows short of and over the reference, summed over the participants ``pids``."""
    lost = duplicated = 0
    for prolific_pid in pids:
        held = found.get(prolific_pid, {})
        for kind, expected in reference.items():
            difference = held.get(kind, 0) - expected
            lost += max(0, -difference)
            duplicated += max(0, difference)
    return lost, duplicated


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--participants", type=int, default=50)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, \
            scratch_database(args.db, args.postgres_url, Path(scratch)) as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXBANK_")}
        env.update({"VOXBANK_DATA_DIR": str(Path(scratch) / "data"), "VOXBANK_ENVIRONMENT": "development",
                    "VOXBANK_DATABASE_URL": database_url,
                    # every participant enters from 127.0.0.1: the per-address entry limit is for the internet
                    "VOXBANK_RATE_LIMIT_ENTRY": "100000/minute"})
        subprocess.run([sys.executable, "-m", "voxbank", "db", "upgrade"], env=env, check=True,
                       capture_output=True, timeout=600)
        server, base = start_server(env)
        engine = create_engine(database_url)
        factory = sessionmaker(engine)
        try:
            end = interview_finished(factory)
            walk_battery(base, 1, end)
            reference = holdings(factory)[pid(1)]
            numbers = list(range(2, 2 + args.participants))
            bar = tqdm(total=args.participants * reference["submitted_pages"], desc="pages", unit="page")
            lock = threading.Lock()

            def tick() -> None:
                with lock:
                    bar.update()

            load_before = os.getloadavg()
            started = time.perf_counter()
            errors: Counter[str] = Counter()

            def participant(n: int) -> list[float]:
                try:
                    return walk_battery(base, n, end, tick)
                except Exception as error:  # counted: a participant who could not finish is a loss, not a crash
                    errors[type(error).__name__] += 1
                    return []

            with ThreadPoolExecutor(max_workers=args.participants) as pool:
                timings = [t for one in pool.map(participant, numbers) for t in one]
            wall = time.perf_counter() - started
            load_after = os.getloadavg()
            bar.close()
            lost, duplicated = compare(holdings(factory), reference, [pid(n) for n in numbers])
        finally:
            engine.dispose()
            server.terminate()
            server.wait(timeout=30)
    result = {
        "db": args.db, "participants": args.participants, "finished": args.participants - sum(errors.values()),
        "errors": dict(errors), "pages_per_participant": reference["submitted_pages"],
        "reference": reference, "lost": lost, "duplicated": duplicated, "pages": len(timings),
        "page_p50_s": round(statistics.median(timings), 3) if timings else None,
        "page_p95_s": round(_percentile(timings, 0.95), 3) if timings else None,
        "page_max_s": round(max(timings), 3) if timings else None,
        "wall_s": round(wall, 1), "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
