"""Fixtures shared by tests/survey/scheduling and tests/survey/prolific (their conftests import them):
the Prolific stand-in, the study row, participants who completed wave 1, a controllable clock and a
scheduler wired to all of them."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Participant, Visit
from survey.prolific_api import ProlificClient, RetryPolicy
from survey.runtime import StudyRuntime
from survey.scheduling import ProlificSetup, Scheduler, ScheduleSource
from survey.study_rows import sync_study

# Helper modules beside the tests (the suite imports with --import-mode=importlib, which leaves sys.path alone).
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "web"))  # journey_bots: the web journey's bots

from prolific_standin import TOKEN, ProlificStandIn  # noqa: E402

WAVE1_STUDY = "65a0f00d1234567890abcdef"
RETEST_STUDY = "65b0f00d1234567890abcdef"
GROUP = "65c0f00d1234567890abcdef"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
"""When the test participants completed wave 1 (a Monday)."""


def pid(n: int) -> str:
    """A well-formed Prolific id for participant number n."""
    return f"{n:024x}"


def submission(n: int, wave: int = 1) -> str:
    """A well-formed Prolific submission id for participant n's wave."""
    return f"5{wave}{n:022x}"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, moment: datetime) -> Clock:
        self.now = moment
        return self


@pytest.fixture(scope="session")
def standin() -> Iterator[ProlificStandIn]:
    server = ProlificStandIn()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def prolific(standin: ProlificStandIn) -> Iterator[ProlificStandIn]:
    """The stand-in, emptied for this test."""
    standin.reset()
    yield standin
    standin.release()


@pytest.fixture
def study_id(session_factory: sessionmaker[Session], runtime: StudyRuntime) -> int:
    """The study's row in this test's database."""
    with session_factory() as session, session.begin():
        return sync_study(session, runtime).id


@pytest.fixture
def environment(tmp_path: Path, database_url: str, prolific) -> dict[str, str]:
    """The environment of a voxbank process on this test's database, broker and Prolific stand-in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXBANK_")}
    env.update({
        "VOXBANK_ENVIRONMENT": "test", "VOXBANK_DATA_DIR": str(tmp_path / "data"),
        "VOXBANK_DATABASE_URL": database_url,
        "VOXBANK_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        "VOXBANK_PROLIFIC_TOKEN": TOKEN, "VOXBANK_PROLIFIC_API_URL": prolific.url,
        "VOXBANK_PROLIFIC_RETEST_STUDY_ID": RETEST_STUDY, "VOXBANK_PROLIFIC_RETEST_GROUP_ID": GROUP,
    })
    return env


@pytest.fixture
def edited_study(tmp_path: Path, runtime: StudyRuntime) -> Path:
    """A copy of the shipped study folder to edit; returns its study.yaml."""
    folder = tmp_path / "study"
    shutil.copytree(runtime.protocol.path, folder)
    return folder / "study.yaml"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the Prolific client asked for (recorded instead of slept)."""
    return []


@pytest.fixture
def make_scheduler(session_factory: sessionmaker[Session], prolific: ProlificStandIn, clock: Clock,
                   sleeps: list[float], runtime: StudyRuntime) -> Iterator[object]:
    """A factory of schedulers on this test's database, the stand-in and the clock."""
    clients: list[ProlificClient] = []

    def make(study_yaml: Path | None = None, *, group: str | None = GROUP, lease_s: float = 300.0) -> Scheduler:
        client = ProlificClient(prolific.url, TOKEN, retry=RetryPolicy(attempts=3), sleep=sleeps.append)
        clients.append(client)
        source = ScheduleSource(study_yaml or runtime.protocol.file.path)
        return Scheduler(session_factory, source, client, ProlificSetup(RETEST_STUDY, group), clock=clock,
                         lease_s=lease_s)

    yield make
    for client in clients:
        client.close()


def add_completer(factory: sessionmaker[Session], study_id: int, n: int, *, completed_at: datetime = T0,
                  prolific: ProlificStandIn | None = None) -> int:
    """A participant who completed wave 1 at ``completed_at`` (rows only); returns their id."""
    with factory() as session, session.begin():
        participant = Participant(study_id=study_id, prolific_pid=pid(n), status="active", strata={},
                                  pseudonym_id=f"00000000-0000-0000-0000-{n:012d}")
        session.add(participant)
        session.flush()
        session.add(Visit(participant_id=participant.id, wave=1, prolific_study_id=WAVE1_STUDY,
                          prolific_session_id=submission(n), status="completed", position=0, plan={"pages": []},
                          started_at=completed_at - timedelta(hours=3), completed_at=completed_at))
        if prolific is not None:
            prolific.add_submission(submission(n), WAVE1_STUDY, pid(n))
        return participant.id
