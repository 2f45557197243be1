"""Backup and restore of the database and the blob store (audio, signed consents, exports' inputs).

A backup is a folder:

* ``database.pgdump`` (PostgreSQL, ``pg_dump --format=custom``) or ``database.sqlite3`` (SQLite's
  online backup API): a consistent snapshot taken while the study runs;
* ``blobs/<aa>/<sha256>``: every blob, each checked against its name while it is copied;
* ``manifest.json``: when, which database kind and schema revision, how many blobs and bytes, and
  the sha256 of the database file.

A restore goes only into an empty database (no tables) and checks every blob and the database file
against the manifest. Run both as the database owner (the migrations' role): the app role may not
create tables. Blobs are written before the database, so a restored row never names a missing blob.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from storage.blobs import SHA256_PATTERN, BlobStore
from storage.db import make_engine
from storage.migrate import current_revision

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What a backup folder holds."""

    format: int
    created_at: str
    database: str
    schema_revision: str | None
    database_file: str
    database_sha256: str
    blobs: int
    blob_bytes: int


def backup(database_url: str, blob_root: Path, target: Path) -> Manifest:
    """Write a backup of the database and the blobs under ``blob_root`` into the new folder ``target``."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: give a new folder for the backup")
    target.mkdir(parents=True, exist_ok=True)
    url = make_url(database_url)
    engine = make_engine(database_url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    blobs, blob_bytes = _copy_blobs(blob_root, target / "blobs")
    if url.get_backend_name() == "sqlite":
        database_file = target / "database.sqlite3"
        _sqlite_copy(Path(url.database or ""), database_file)
    elif url.get_backend_name() == "postgresql":
        database_file = target / "database.pgdump"
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={database_file}",
              f"--dbname={_libpq(url)}"], url, "pg_dump")
    else:
        raise BackupError(f"cannot back up a {url.get_backend_name()} database (SQLite and PostgreSQL only)")
    manifest = Manifest(format=FORMAT, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                        database=url.get_backend_name(), schema_revision=revision, database_file=database_file.name,
                        database_sha256=_sha256_of(database_file), blobs=blobs, blob_bytes=blob_bytes)
    (target / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def restore(source: Path, database_url: str, blob_root: Path) -> Manifest:
    """Restore the backup in ``source`` into an empty database and the blob store at ``blob_root``."""
    manifest = read_manifest(source)
    url = make_url(database_url)
    if url.get_backend_name() != manifest.database:
        raise BackupError(f"{source} holds a {manifest.database} database; "
                          f"VOXBANK_DATABASE_URL names a {url.get_backend_name()} one")
    database_file = source / manifest.database_file
    if _sha256_of(database_file) != manifest.database_sha256:
        raise BackupError(f"{database_file} does not match the manifest's sha256: the backup is damaged")
    engine = make_engine(database_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(f"the database at {url.render_as_string(hide_password=True)} is not empty "
                          f"({len(tables)} tables): restore only into an empty database")
    blobs, blob_bytes = _copy_blobs(source / "blobs", blob_root)
    if (blobs, blob_bytes) != (manifest.blobs, manifest.blob_bytes):
        raise BackupError(f"{source / 'blobs'} holds {blobs} blobs ({blob_bytes} bytes); "
                          f"the manifest says {manifest.blobs} ({manifest.blob_bytes} bytes)")
    if manifest.database == "sqlite":
        _sqlite_copy(database_file, Path(url.database or ""))
    else:
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={_libpq(url)}", str(database_file)], url, "pg_restore")
    engine = make_engine(database_url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    if revision != manifest.schema_revision:
        raise BackupError(f"the restored database is at schema {revision}, the backup was at "
                          f"{manifest.schema_revision}")
    return manifest


def read_manifest(source: Path) -> Manifest:
    """The manifest of the backup folder ``source``."""
    try:
        data = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} is not a voxbank backup (no {MANIFEST})") from None
    if data.get("format") != FORMAT:
        raise BackupError(f"{source / MANIFEST}: format {data.get('format')!r} is not {FORMAT}")
    return Manifest(**data)


def _copy_blobs(source_root: Path, target_root: Path) -> tuple[int, int]:
    """Copy every blob, checking each against its name; returns (count, bytes)."""
    store = BlobStore(target_root)
    count = size = 0
    if not source_root.is_dir():
        return 0, 0
    for path in sorted(source_root.glob("??/*")):
        if not SHA256_PATTERN.match(path.name):
            continue  # an interrupted write's temporary file
        stored = store.put_file(path)
        if stored != path.name:
            raise BackupError(f"{path} does not match its name (sha256 {stored}): the blob is damaged")
        count += 1
        size += path.stat().st_size
    return count, size


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while the app writes (WAL)."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()


def _libpq(url: URL) -> str:
    """The URL for pg_dump/pg_restore: no driver name, no password (that goes in PGPASSWORD)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(command: list[str], url: URL, tool: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed: install PostgreSQL's client tools (postgresql-client)")
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=6 * 3600)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-1000:]}")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()
