"""Fixtures for the survey tests: the shipped study, synced into this test's database."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from protocols import load_study
from storage.db import transaction
from survey.journey import Journey
from survey.runtime import StudyRuntime
from survey.study_rows import sync_study

# The suite imports test modules with --import-mode=importlib, which leaves sys.path alone: make
# this folder's helper module (survey_helpers) importable by the tests beside it.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def runtime() -> StudyRuntime:
    """The shipped park2024 study."""
    return StudyRuntime(load_study())


@pytest.fixture
def journey(session_factory: sessionmaker[Session], runtime: StudyRuntime) -> Journey:
    """The study's journey, its Study row and quota cells created in this test's database."""
    with transaction(session_factory) as session:
        row = sync_study(session, runtime)
    return Journey(runtime, row.id, "team@example.org")
