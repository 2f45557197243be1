"""Fixtures for the interviewer: the stand-in LLM, settings pointing at it, guides and a client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from interviewer.conductor import guide_file
from interviewer.llm import LLMClient
from protocols import InterviewGuide, LoadedFile
from tests.llm_stand_in import StandInLLM, stand_in, stand_in_server  # noqa: F401  (fixtures)
from voxbank.settings import Settings, load_settings
from voxbank.wiring import client_from_settings


@pytest.fixture
def llm_settings(settings: Settings, stand_in: StandInLLM) -> Settings:  # noqa: F811
    """The test's settings, with the stand-in as the LLM endpoint and a 2-second timeout."""
    return load_settings(**{**settings.model_dump(), "llm_base_url": stand_in.url, "llm_timeout_s": 2.0})


@pytest.fixture
def llm(llm_settings: Settings) -> Iterator[LLMClient]:
    """The real client, talking to the stand-in."""
    with client_from_settings(llm_settings) as client:
        yield client


@pytest.fixture(scope="session")
def short_guide() -> LoadedFile[InterviewGuide]:
    """The shipped five-question guide."""
    return guide_file("short")


@pytest.fixture(scope="session")
def avp_guide() -> LoadedFile[InterviewGuide]:
    """The shipped 109-question guide."""
    return guide_file("avp")


@pytest.fixture
def factory(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A shorter name for the test database's session factory."""
    return session_factory
