"""Private files: the data directory is 0700 and what voxbank writes in it is 0600.

The database, the audio blobs and the exports hold personal data; no other account on the machine
should read them. Processes started by the ``voxbank`` command also set a umask of 077
(`restrict_umask`), so every file they create (exports, logs, the broker's database) is private
from the start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def restrict_umask() -> None:
    """Make every file and directory this process creates from now on private to its user."""
    os.umask(PRIVATE_UMASK)


def private_directory(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700 when it is ours.

    A directory owned by someone else, or shared with the sticky bit (``/tmp``), is left alone:
    only voxbank's own directories are tightened.
    """
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY)
    info = path.stat()
    if info.st_uid == os.getuid() and not info.st_mode & stat.S_ISVTX:
        path.chmod(PRIVATE_DIRECTORY)
    return path


def private_file(path: Path) -> None:
    """Make an existing file of ours 0600."""
    if path.exists() and path.stat().st_uid == os.getuid():
        path.chmod(PRIVATE_FILE)
