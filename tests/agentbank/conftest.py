"""Fixtures for the agent bank tests: the shipped protocol, the built study, the embedding stand-in."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

import protocols

# The suite imports test modules with --import-mode=importlib, which leaves sys.path alone: make this
# folder's helper modules (bank_data, bank_embedding_server) importable by the tests beside it.
sys.path.insert(0, str(Path(__file__).parent))

from bank_data import Bank, build_bank  # noqa: E402
from bank_embedding_server import EmbeddingServer, start_embedding_server  # noqa: E402

from tests.llm_stand_in import stand_in, stand_in_server  # noqa: E402, F401  (fixtures: an OpenAI stand-in)


@pytest.fixture(scope="session")
def study_protocol() -> protocols.Study:
    return protocols.load_study(protocols.default_study_dir())


@pytest.fixture
def bank(session_factory: sessionmaker[Session], study_protocol: protocols.Study) -> Bank:
    with session_factory() as session, session.begin():
        return build_bank(session, study_protocol)


@pytest.fixture(scope="session")
def embedding_server() -> Iterator[EmbeddingServer]:
    server = start_embedding_server()
    yield server
    server.stop()
