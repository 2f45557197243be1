"""A `voxbank serve` process for the benches that load a real server over HTTP (abuse, battery load)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import IO

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(env: dict[str, str], *, log: IO[bytes] | None = None,
                 timeout_s: float = 180) -> tuple[subprocess.Popen[bytes], str]:
    """Start `voxbank serve` on a free port with ``env``; returns the process and its base URL once
    /healthz answers. RuntimeError when it does not within ``timeout_s`` (or exits first)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "voxbank", "serve", "--port", str(port)], env=env,
                              stdout=log if log is not None else subprocess.DEVNULL,
                              stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("the server did not start: see its log")
        time.sleep(0.2)
