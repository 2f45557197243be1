"""``voxbank agent dev|start`` and the agent's entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_voxbank(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("VOXBANK_")}
    environment.update({f"VOXBANK_{key.upper()}": value for key, value in env.items()})
    return subprocess.run([sys.executable, "-m", "voxbank", *args], capture_output=True, text=True,
                          env=environment, cwd=tmp_path, timeout=120)


def test_the_agent_needs_a_livekit_server_and_says_what_runs_instead(tmp_path: Path) -> None:
    result = run_voxbank(tmp_path, "agent", "start")
    assert result.returncode == 2
    assert "voxbank agent needs a LiveKit server: set VOXBANK_LIVEKIT_URL" in result.stderr
    assert "embedded WebRTC" in result.stderr


def test_the_agent_knows_only_dev_and_start(tmp_path: Path) -> None:
    result = run_voxbank(tmp_path, "agent", "console", livekit_url="ws://127.0.0.1:7880",
                         livekit_api_key="key", livekit_api_secret="secret")
    assert result.returncode == 2
    assert "voxbank agent: unknown mode 'console'; use dev or start" in result.stderr


def test_the_entry_point_registers_one_named_rtc_session() -> None:
    from interviewer.voice import worker
    from interviewer.voice.livekit_room import AGENT_NAME
    from voxbank import wiring

    server = wiring.interviewer_agent_server()
    assert server._entrypoint_fnc is worker.interview
    assert server._setup_fnc is wiring.prewarm_interviewer
    assert server._agent_name == AGENT_NAME
