"""What voxbank writes is readable by its own user alone: the data directory 0700, files 0600."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from storage.blobs import BlobStore
from storage.db import make_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_database_and_its_directory_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'voxbank.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    assert mode(data) == 0o700
    assert mode(data / "voxbank.db") == 0o600
    assert mode(data / "voxbank.db-wal") == 0o600
    engine.dispose()


def test_blobs_and_their_folders_are_private(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    sha = blobs.put(b"a voice")
    assert mode(blobs.root) == 0o700
    assert mode(blobs.path_for(sha).parent) == 0o700
    assert mode(blobs.path_for(sha)) == 0o600


def test_a_shared_sticky_directory_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o1777)
    make_engine(f"sqlite:///{shared / 'voxbank.db'}").dispose()
    assert mode(shared) == 0o1777


def test_the_voxbank_command_creates_only_private_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOXBANK_")}
    environment.update({"VOXBANK_DATA_DIR": str(data), "VOXBANK_ENVIRONMENT": "test"})
    done = subprocess.run([sys.executable, "-m", "voxbank", "db", "upgrade"], capture_output=True, text=True,
                          env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    files = [p for p in data.rglob("*")]
    assert files
    loose = {str(p.relative_to(data)): oct(mode(p)) for p in files
             if mode(p) & 0o077}
    assert loose == {}
    assert mode(data) == 0o700
