"""Fixtures for the web tests: the app against the test database, and a client that follows redirects."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from protocols import Study, load_study
from voxbank.settings import Settings
from voxbank.wiring import web_app

# The suite imports test modules with --import-mode=importlib, which leaves sys.path alone: make
# this folder's helper module (journey_bots) importable by the tests beside it.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def protocol_study() -> Study:
    """The shipped park2024 study, loaded once."""
    return load_study()


@pytest.fixture
def app(settings: Settings, protocol_study: Study) -> FastAPI:
    """The app on this test's database.

    Every test browser comes from one loopback address, so the per-address entry limit is raised
    here; ``test_exhaustion.py`` tests the limits themselves.
    """
    return web_app(settings.model_copy(update={"rate_limit_entry": "100000/minute"}), study=protocol_study)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A browser-like client (cookies, redirects) with the app started."""
    with TestClient(app, follow_redirects=True) as test_client:
        yield test_client


@pytest.fixture
def make_client(client: TestClient) -> Callable[[], TestClient]:
    """A factory of further browsers (own cookies) on the already started app (startup is not run again)."""

    def make() -> TestClient:
        return TestClient(client.app, follow_redirects=True)

    return make


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The real app served by uvicorn on a free port, in a thread; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
