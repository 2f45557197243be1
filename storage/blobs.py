"""Content-addressed blob store for audio and documents.

A blob lives at ``<root>/<first two hex digits>/<sha256>``. Writes go to a temporary file that is
fsynced and renamed into place, so a crash never leaves half a blob under a real name; reads check
the hash, so a file damaged on disk is reported instead of silently served.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from storage.files import PRIVATE_DIRECTORY, private_directory

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class BlobError(Exception):
    """Base class of blob store errors."""


class BlobNotFound(BlobError):
    """No blob with that hash is stored."""


class BlobCorrupted(BlobError):
    """A stored blob no longer matches its hash."""


class BlobStore:
    """Blobs under one root directory, named by the sha256 of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this hash lives (whether or not it exists)."""
        if not SHA256_PATTERN.match(sha256):
            raise BlobError(f"{sha256!r} is not a sha256 hex digest (64 lowercase hex characters)")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its sha256; storing the same bytes twice is harmless."""
        return self.put_chunks([data])

    def put_chunks(self, chunks: Iterable[bytes]) -> str:
        """Store the concatenation of ``chunks`` without holding it all in memory; return its sha256."""
        private_directory(self.root)
        digest = hashlib.sha256()
        descriptor, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                for chunk in chunks:
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            sha256 = digest.hexdigest()
            target = self.path_for(sha256)
            target.parent.mkdir(exist_ok=True, mode=PRIVATE_DIRECTORY)
            os.replace(temporary, target)  # mkstemp made it 0600
            _fsync_directory(target.parent)
            return sha256
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def put_file(self, source: Path) -> str:
        """Store a file's bytes, read in 1 MiB pieces; return their sha256."""
        with open(source, "rb") as handle:
            return self.put_chunks(iter(lambda: handle.read(1 << 20), b""))

    def get(self, sha256: str) -> bytes:
        """Return the blob's bytes after checking them against the hash."""
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"blob {sha256} is not in the store at {self.root}") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise BlobCorrupted(
                f"blob {sha256} at {path} is corrupted: its content now hashes to {actual}; "
                "restore it from backup"
            )
        return data

    def exists(self, sha256: str) -> bool:
        """Whether a blob with this hash is stored (without verifying it)."""
        return self.path_for(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        """Remove a blob (for withdrawal); returns whether it was there."""
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_directory(path.parent)
        return True


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry itself reaches the disk.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
