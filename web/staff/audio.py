"""One recorded channel served as a single WAV file with HTTP Range, built from its chunks as it is read.

A channel is stored as chunks (complete 16-bit mono WAVs, each placed at ``start_s`` on the
interview's timeline; a gap between chunks is silence). ``ChannelWav`` lays them out once from the
chunk rows (no audio read) so that its length, and so any byte range, is known; ``read`` then
decodes only the chunks a range touches, so a seek into a two-hour recording reads a few seconds.
Second ``t`` of the file is second ``t`` of the interview, so a turn's ``start_s`` is where to seek.

Once the retention sweep has deleted a recording's WAV chunks (``Recording.wav_purged_at``), the
recording is its Opus copy: ``ArchiveFile`` serves that blob as it is stored (Ogg, 16 kHz, the same
timeline), with the same byte ranges.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from interviewer.transcription.audio import read_chunk
from storage.blobs import BlobStore
from storage.models import Recording

HEADER_BYTES = 44
SAMPLE_BYTES = 2
RANGE_PATTERN = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(ValueError):
    """The Range header asks for bytes outside the file (answered 416)."""


@dataclass(frozen=True)
class _Piece:
    start: int  # first sample on the timeline
    length: int  # samples
    blob_sha256: str
    index: int


class ChannelWav:
    """A recording's chunks as one WAV file: ``size`` bytes, any range readable on its own."""

    media_type = "audio/wav"

    def __init__(self, recording: Recording, blobs: BlobStore) -> None:
        self.recording = recording
        self.blobs = blobs
        self.rate = recording.sample_rate
        pieces: list[_Piece] = []
        cursor = 0
        for chunk in recording.chunks:
            start = max(cursor, round(chunk.start_s * self.rate))
            end = round((chunk.start_s + chunk.duration_s) * self.rate)
            if end > start:
                pieces.append(_Piece(start, end - start, chunk.blob_sha256, chunk.index))
                cursor = end
        self.pieces = pieces
        self.samples = cursor
        self.size = HEADER_BYTES + self.samples * SAMPLE_BYTES

    def header(self) -> bytes:
        """The 44-byte RIFF/WAVE header of a 16-bit mono PCM file of this length."""
        data = self.samples * SAMPLE_BYTES
        return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " +
                struct.pack("<IHHIIHH", 16, 1, 1, self.rate, self.rate * SAMPLE_BYTES, SAMPLE_BYTES, 16) +
                b"data" + struct.pack("<I", data))

    def _piece_samples(self, piece: _Piece) -> np.ndarray:
        where = f"chunk {piece.index} of recording {self.recording.id}"
        samples = read_chunk(self.blobs.get(piece.blob_sha256), expected_rate=self.rate, where=where)
        if len(samples) < piece.length:  # the row's duration is rounded: pad, never shift what follows
            samples = np.concatenate([samples, np.zeros(piece.length - len(samples), dtype=np.int16)])
        return samples[:piece.length]

    def read(self, first: int, last: int) -> Iterator[bytes]:
        """The file's bytes ``first`` to ``last`` inclusive, in pieces of about a megabyte."""
        if first < HEADER_BYTES:
            yield self.header()[first:last + 1]
            first = HEADER_BYTES
        if last < first:
            return
        head = (first - HEADER_BYTES) % SAMPLE_BYTES  # a range may start or end inside a sample
        tail = SAMPLE_BYTES - 1 - (last - HEADER_BYTES) % SAMPLE_BYTES
        held: bytes | None = None
        for n, buffer in enumerate(self._sample_bytes((first - HEADER_BYTES) // SAMPLE_BYTES,
                                                      (last - HEADER_BYTES) // SAMPLE_BYTES)):
            if n == 0:
                buffer = buffer[head:]
            if held is not None:
                yield held
            held = buffer
        if held is not None:
            yield held[:len(held) - tail] if tail else held

    def _sample_bytes(self, sample_first: int, sample_last: int) -> Iterator[bytes]:
        """Samples ``sample_first`` to ``sample_last`` as little-endian int16 bytes; silence in the gaps."""
        position = sample_first
        emitted = bytearray()
        for piece in self.pieces:
            piece_end = piece.start + piece.length - 1
            if piece_end < position:
                continue
            if piece.start > sample_last:
                break
            if piece.start > position:
                emitted += bytes((piece.start - position) * SAMPLE_BYTES)
                position = piece.start
            upto = min(piece_end, sample_last)
            emitted += self._piece_samples(piece)[position - piece.start:upto - piece.start + 1].astype("<i2").tobytes()
            position = upto + 1
            if len(emitted) >= 1 << 20:
                yield bytes(emitted)
                emitted.clear()
        if position <= sample_last:
            emitted += bytes((sample_last - position + 1) * SAMPLE_BYTES)
        yield bytes(emitted)


class ArchiveFile:
    """A recording's Opus copy as the file served: ``size`` bytes, any range readable (checked once)."""

    media_type = "audio/ogg"

    def __init__(self, recording: Recording, blobs: BlobStore) -> None:
        assert recording.archive_sha256 is not None
        self.data = blobs.get(recording.archive_sha256)  # BlobError when missing or damaged
        self.size = len(self.data)

    def read(self, first: int, last: int) -> Iterator[bytes]:
        """The file's bytes ``first`` to ``last`` inclusive, in pieces of a megabyte."""
        for start in range(first, last + 1, 1 << 20):
            yield self.data[start:min(last + 1, start + (1 << 20))]


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a Range header asks for, None for the whole file; RangeNotSatisfiable if outside."""
    if not header:
        return None
    match = RANGE_PATTERN.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None  # a malformed or multi-range header: answer with the whole file, as RFC 9110 allows
    if not match.group(1):
        length = int(match.group(2))
        if length == 0:
            raise RangeNotSatisfiable("an empty suffix range")
        return max(0, size - length), size - 1
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else size - 1
    if first >= size or last < first:
        raise RangeNotSatisfiable(f"bytes {first}-{last} are outside a file of {size} bytes")
    return first, min(last, size - 1)
