"""Helpers to run the real ``voxbank`` command as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

VOXBANK = [sys.executable, "-m", "voxbank"]


@pytest.fixture
def run_voxbank(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``voxbank ARGS`` in a clean environment plus the given VOXBANK_ variables."""

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("VOXBANK_")}
        environment.update({f"VOXBANK_{key.upper()}": value for key, value in env.items()})
        return subprocess.run([*VOXBANK, *args], capture_output=True, text=True, env=environment,
                              cwd=tmp_path, timeout=300)

    return run
