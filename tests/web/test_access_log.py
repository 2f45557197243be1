"""Access log lines never hold a study link's query string (Prolific ids, screening answers)."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from journey_bots import pid, start_url

from web.access_log import ACCESS_LOGGER


def test_the_access_log_has_the_path_but_not_the_query(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # log_config=None: uvicorn leaves logging alone, so its access lines reach caplog
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=True,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
            link = start_url(pid(0xABC))  # with the screening answers (race, gender...) as parameters
            assert httpx.get(f"http://127.0.0.1:{port}{link}").status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    lines = [record.getMessage() for record in caplog.records if record.name == ACCESS_LOGGER]
    assert any("GET /study/park2024/start HTTP/1.1" in line for line in lines), lines
    assert not any(pid(0xABC) in line or "race" in line or "?" in line for line in lines)
