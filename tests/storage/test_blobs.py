"""The blob store keeps bytes under their sha256, writes atomically and detects damage."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from storage.blobs import BlobCorrupted, BlobError, BlobNotFound, BlobStore


def test_a_blob_is_stored_under_its_sha256(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    sha = store.put(b"participant channel, chunk 0")
    assert sha == hashlib.sha256(b"participant channel, chunk 0").hexdigest()
    assert store.path_for(sha) == tmp_path / sha[:2] / sha
    assert store.get(sha) == b"participant channel, chunk 0"


def test_storing_the_same_bytes_twice_keeps_one_file(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    assert store.put(b"same") == store.put(b"same")
    assert len([path for path in tmp_path.rglob("*") if path.is_file()]) == 1


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    store.put_chunks([b"a" * 1000, b"b" * 1000])
    assert not list(tmp_path.glob(".incoming-*"))


def test_a_failed_write_leaves_nothing_under_a_real_name(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)

    def chunks():
        yield b"first half"
        raise OSError("disk unplugged")

    with pytest.raises(OSError, match="disk unplugged"):
        store.put_chunks(chunks())
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_a_corrupted_blob_is_reported_by_name(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    sha = store.put(b"original audio bytes")
    store.path_for(sha).write_bytes(b"original audio bytez")
    with pytest.raises(BlobCorrupted, match=f"blob {sha} at .* is corrupted"):
        store.get(sha)


def test_a_missing_blob_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BlobNotFound, match="is not in the store"):
        BlobStore(tmp_path).get("0" * 64)


def test_a_malformed_hash_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BlobError, match="is not a sha256 hex digest"):
        BlobStore(tmp_path).get("../../etc/passwd")


def test_put_file_stores_a_file_and_delete_removes_it(tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    source.write_bytes(b"RIFF" + bytes(5000))
    store = BlobStore(tmp_path / "blobs")
    sha = store.put_file(source)
    assert store.get(sha) == source.read_bytes()
    assert store.delete(sha) is True
    assert not store.exists(sha)
    assert store.delete(sha) is False
