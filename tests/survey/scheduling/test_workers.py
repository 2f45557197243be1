"""Real processes racing on the same rows: two Celery workers send each invitation once; a worker killed
mid-send is taken over without a second message; a scheduler killed during a bonus payment never pays
twice. Workers and commands run as subprocesses against this test's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from retest_fixtures import GROUP, T0, add_completer, pid
from sqlalchemy import select

from storage.models import Bonus, ScheduledAction
from voxbank.celery_app import SCHEDULER_TICK_TASK, app_for, celery_config
from voxbank.settings import load_settings

DAY = timedelta(days=1)


@pytest.fixture
def start_workers(environment: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., list[subprocess.Popen]]]:
    """Start ``voxbank worker`` processes (one pool process each, default queue); wait until all are ready."""
    workers: list[subprocess.Popen] = []

    def start(*names: str) -> list[subprocess.Popen]:
        # Declared once here: two workers declaring the queues of a new embedded broker at the same
        # moment can collide on kombu's unique queue name, and the loser exits.
        settings = load_settings(environment="test", broker_url=environment["VOXBANK_BROKER_URL"])
        with app_for(settings).connection_for_write() as connection:
            for queue in app_for(settings).conf.task_queues:
                queue(connection.default_channel).declare()
        started = []
        for name in names:
            log = tmp_path / f"{name}.log"
            process = subprocess.Popen(
                [sys.executable, "-m", "voxbank", "worker", "--queues", "default", "--concurrency", "1"],
                env=environment, cwd=tmp_path, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
            workers.append(process)
            started.append((process, log))
        deadline = time.monotonic() + 90
        for process, log in started:
            while " ready." not in log.read_text():
                assert process.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "a worker did not start: " + log.read_text()[-3000:]
                time.sleep(0.1)
        return [process for process, _ in started]

    yield start
    for process in workers:  # the state is in the database: no need for a warm shutdown
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tick(environment: dict[str, str], at: datetime) -> None:
    """Send the beat's tick message, as beat would, for the moment ``at``."""
    settings = load_settings(environment="test", broker_url=environment["VOXBANK_BROKER_URL"])
    app_for(settings).send_task(SCHEDULER_TICK_TASK, kwargs={"at": at.isoformat()})


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


def invitations(factory) -> list[ScheduledAction]:
    with factory() as session:
        return list(session.scalars(select(ScheduledAction).where(ScheduledAction.kind == "invitation")
                                    .order_by(ScheduledAction.participant_id)))


def test_the_beat_sends_the_tick_every_minute() -> None:
    config = celery_config(load_settings(environment="test"))
    assert config["beat_schedule"]["scheduler-tick"] == {"task": "voxbank.scheduler_tick", "schedule": 60.0,
                                                         "options": {"expires": 60.0}}
    assert "voxbank.schedule_tick" in config["imports"]


def test_two_workers_racing_send_each_invitation_once(session_factory, study_id, prolific, environment,
                                                      start_workers, tmp_path: Path) -> None:
    people = [add_completer(session_factory, study_id, n, prolific=prolific) for n in range(1, 7)]
    prolific.latency_s = 0.15  # each call takes a while, so the two workers' runs overlap
    prolific.offset = T0 + 14 * DAY - datetime.now(UTC)
    start_workers("a", "b")
    for _ in range(4):
        tick(environment, T0 + 14 * DAY)
    wait_until(lambda: all(a.status == "sent" for a in invitations(session_factory)) and
               len(invitations(session_factory)) == len(people), "every invitation is sent")
    time.sleep(1.0)  # any late duplicate would land now
    assert [len(prolific.messages_to(pid(n))) for n in range(1, 7)] == [1] * 6
    assert prolific.count("POST", f"/api/v1/participant-groups/{GROUP}/participants/") == 6
    assert prolific.count("POST", "/api/v1/submissions/.*/transition/") == 6
    assert [a.attempts for a in invitations(session_factory)] == [1] * 6
    sent = [sum(int(n) for n in re.findall(r"scheduler tick sent=(\d+)", (tmp_path / f"{name}.log").read_text()))
            for name in ("a", "b")]
    assert sum(sent) == 12 and min(sent) > 0, sent  # both workers sent some: they raced on the same rows


def test_a_worker_killed_mid_send_is_taken_over_without_a_second_message(session_factory, study_id, prolific,
                                                                         environment, start_workers) -> None:
    add_completer(session_factory, study_id, 1, prolific=prolific)
    add_completer(session_factory, study_id, 2, prolific=prolific)
    at = T0 + 14 * DAY
    prolific.offset = at - datetime.now(UTC)
    prolific.fail("POST", "/api/v1/messages/", "hang_after")  # the message is delivered, the answer never comes
    [doomed] = start_workers("doomed")
    tick(environment, at)
    assert prolific.hung.wait(60), "the worker never reached Prolific"
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    prolific.release()
    held = invitations(session_factory)[0]
    assert (held.status, held.attempts, "message" in held.payload) == ("pending", 1, True)
    assert held.claimed_until is not None and held.claimed_until > at

    start_workers("rescuer")
    tick(environment, at + timedelta(minutes=6))  # after the dead worker's lease lapsed
    wait_until(lambda: all(a.status == "sent" for a in invitations(session_factory)), "both invitations are sent")
    assert [len(prolific.messages_to(pid(n))) for n in (1, 2)] == [1, 1]
    assert prolific.count("POST", "/api/v1/messages/") == 2
    assert [a.attempts for a in invitations(session_factory)] == [2, 1]


def test_a_scheduler_killed_during_a_bonus_payment_never_pays_twice(session_factory, study_id, prolific,
                                                                    environment, make_scheduler, clock,
                                                                    tmp_path: Path) -> None:
    def bonuses_for(numbers: tuple[int, ...], moment: datetime) -> None:
        ids = [add_completer(session_factory, study_id, n, completed_at=moment, prolific=prolific) for n in numbers]
        with session_factory() as session, session.begin():
            for participant_id in ids:
                session.add(Bonus(participant_id=participant_id, wave=1, amount_cents=250, game_id="game1_DG",
                                  computation={}, status="computed", idempotency_key=f"bonus:{participant_id}:1",
                                  created_at=moment))

    def run_and_kill(path: str, at: datetime) -> None:
        """``voxbank schedule run-due`` at ``at``, killed while Prolific holds its call to ``path``."""
        prolific.hung.clear()
        prolific.fail("POST", path, "hang_after")
        process = subprocess.Popen([sys.executable, "-m", "voxbank", "schedule", "run-due", "--at", at.isoformat()],
                                   env=environment, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            assert prolific.hung.wait(60), "the command never reached Prolific"
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            prolific.release()
            prolific.faults.clear()

    def statuses() -> list[str]:
        with session_factory() as session:
            return [b.status for b in session.scalars(select(Bonus).order_by(Bonus.id))]

    # Killed while Prolific set up the first bonus: the set-up id never reached the database.
    bonuses_for((1, 2), T0)
    run_and_kill("/api/v1/submissions/bonus-payments/", T0 + timedelta(minutes=1))
    assert statuses() == ["computed", "computed"] and prolific.bonuses_paid() == 0
    clock.at(T0 + timedelta(minutes=7))  # the dead command's lease has lapsed
    make_scheduler().run_due()
    assert statuses() == ["paid", "paid"]
    assert prolific.bonuses_paid() == 2 and len(prolific.state.bulk_bonuses) == 3  # one set-up left unpaid

    # Killed after Prolific took the pay request, before the answer came back.
    later = T0 + timedelta(hours=1)
    bonuses_for((3, 4), later)
    run_and_kill("/api/v1/bulk-bonus-payments/.*/pay/", later + timedelta(minutes=1))
    assert statuses() == ["paid", "paid", "set_up", "computed"] and prolific.bonuses_paid() == 3
    clock.at(later + timedelta(minutes=7))
    make_scheduler().run_due()
    assert statuses() == ["paid"] * 4
    assert prolific.bonuses_paid() == 4 and prolific.count("POST", "/api/v1/bulk-bonus-payments/.*/pay/") == 4
    assert [sub["bonus_payments"] for sub in prolific.state.submissions.values()] == [[250.0]] * 4
