"""Audio at rest: the Opus archive task, and the sweep that deletes WAV chunks once the policy allows.

The archive task (``archive_recordings``)
=========================================

Each channel, as Whisper hears it (16 kHz mono on the interview's timeline), is stored as Opus in
Ogg (``archive.opus_bytes``, about 2.3 kB/s) and named in ``recordings.archive_sha256``. It runs as
its own job on the CPU queue, queued once the transcription's result is committed, so a GPU worker
never spends its time encoding. Only a recording of a transcribed (``done``) interview, without a
copy yet, whose chunks are still there and which withdrawal has not marked ``deleted`` is encoded;
the copy is named by a compare-and-set UPDATE that re-checks all of that, so a second delivery of
the message (or two at once) stores one copy and removes any other it wrote. Withdrawal marks the
recordings ``deleted`` first, under their row lock: an UPDATE that waited for it finds them deleted
and the task removes the blob it wrote, so a withdrawn participant's audio is never archived after
withdrawal. A message lost with its worker is sent again by the retention sweep
(``interviews_missing_archive``).

The WAV purge (``purge_wav``)
=============================

``deploy/README.md`` ("Audio at rest and its retention") is the policy. A recording's WAV chunks are
deleted only when every one of these holds, checked in this order (``Decision.kept`` names the
first that does not):

1. the recording is complete and still has chunks, and neither it nor its interview is withdrawn;
2. the interview ended more than ``retention_s`` ago (``VOXBANK_AUDIO_WAV_RETENTION_S``);
3. its offline transcript is committed: transcription ``done`` and a transcript row stored;
4. the interview has no QA flag that asks for a look at the original audio (``RERUN_FLAGS``);
5. the Opus copy is named, in the blob store, its bytes hash to ``archive_sha256``, and it lasts as
   long as the chunks say the recording does, within ``DURATION_TOLERANCE_S``.

The deletion itself is one transaction: a no-op UPDATE of the interview row that takes its lock and
re-checks "done, not withdrawn" (a transcription claim or a withdrawal waits for it, or it for them),
then a compare-and-set UPDATE that sets ``recordings.wav_purged_at`` only if it is still unset and
the copy is still the one verified, the chunk rows' deletion and a ``recording.wav_purged`` audit
event with the counts. Whoever loses the compare-and-set (a second worker running the same sweep)
changes nothing. The blobs are deleted after the commit, and only those no row names any more: a
crash in between leaves unreferenced blobs behind, never a row without its audio.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription.archive import opus_bytes
from interviewer.transcription.audio import WHISPER_RATE, ChannelSource, ChunkRef, assemble_channel
from interviewer.transcription.errors import AudioInputError
from interviewer.transcription.jobs import SOURCE, remove_unreferenced
from storage import audit
from storage.blobs import BlobError, BlobStore
from storage.db import transaction
from storage.leases import changed_rows
from storage.models import Interview, Recording, RecordingChunk, Transcript, utcnow
from storage.states import InterviewStatus, RecordingStatus, TranscriptionStatus

logger = logging.getLogger(__name__)

ARCHIVE_ACTOR = "system:archive"
PURGE_ACTOR = "system:retention"
RERUN_FLAGS = frozenset({"corrupt_chunk", "low_confidence", "silent_channel", "missing_channel"})
"""QA flags (``interviewer.transcription.qa``) that say the recording itself may be at fault: a damaged
chunk, noisy or foreign-language speech, a dead or absent microphone. Someone should listen to the
original, or re-run a larger model on it, before the WAV goes. The others (few words, a long silence,
a short interview) are about the interview's content and are as visible in the Opus copy."""
DURATION_TOLERANCE_S = 0.1
ARCHIVE_RESEND_AFTER_S = 3600.0
"""A transcribed interview still without its Opus copy this long after its transcript was stored has
lost its archive message (a worker died with it); the retention sweep sends another."""


def _target(interview_id: int) -> str:
    return f"interview:{interview_id}"


def _transcribed(interview_id: Any) -> Any:
    return exists(select(Interview.id).where(Interview.id == interview_id,
                                             Interview.transcription_status == TranscriptionStatus.DONE,
                                             Interview.status != InterviewStatus.WITHDRAWN))


@dataclass(frozen=True)
class ArchiveResult:
    """What one delivery of the archive task did: the channels it stored, and those it left and why."""

    archived: dict[str, int] = field(default_factory=dict)
    """channel -> bytes of the Opus copy stored by this delivery."""
    skipped: dict[str, str] = field(default_factory=dict)


def archive_recordings(factory: sessionmaker[Session], blobs: BlobStore, interview_id: int) -> ArchiveResult:
    """Store the Opus copy of each of a transcribed interview's channels that has none (idempotent)."""
    with factory() as session:
        recordings = session.scalars(
            select(Recording).where(Recording.interview_id == interview_id, Recording.archive_sha256.is_(None),
                                    Recording.wav_purged_at.is_(None), Recording.status != RecordingStatus.DELETED,
                                    _transcribed(Recording.interview_id))
            .order_by(Recording.id)).all()
        sources = [ChannelSource(channel=r.channel, recording_id=r.id, sample_rate=r.sample_rate,
                                 chunks=tuple(ChunkRef(c.index, c.start_s, c.blob_sha256, c.duration_s)
                                              for c in r.chunks)) for r in recordings]
    archived: dict[str, int] = {}
    skipped: dict[str, str] = {}
    for source in sources:
        try:
            audio = assemble_channel(source, blobs)
        except AudioInputError as error:
            skipped[source.channel] = str(error)
            continue
        if not len(audio.samples):
            skipped[source.channel] = "no audio"
            continue
        data = opus_bytes(audio.samples, WHISPER_RATE)
        duration_s = audio.duration_s
        del audio
        sha256 = blobs.put(data)
        with transaction(factory) as session:
            stored = changed_rows(session, update(Recording).where(
                Recording.id == source.recording_id, Recording.archive_sha256.is_(None),
                Recording.wav_purged_at.is_(None), Recording.status != RecordingStatus.DELETED,
                _transcribed(Recording.interview_id)).values(archive_sha256=sha256)) == 1
            if stored:
                audit.record(session, ARCHIVE_ACTOR, "recording.archived", _target(interview_id),
                             {"recording_id": source.recording_id, "channel": source.channel, "bytes": len(data),
                              "duration_s": round(duration_s, 2), "archive_sha256": sha256})
        if stored:
            archived[source.channel] = len(data)
        else:  # withdrawn, or another delivery stored its copy first
            with factory() as session:
                remove_unreferenced(session, blobs, {sha256})
            skipped[source.channel] = "archived or withdrawn meanwhile"
    return ArchiveResult(archived, skipped)


def interviews_missing_archive(factory: sessionmaker[Session], *, now: datetime | None = None,
                               older_than_s: float = ARCHIVE_RESEND_AFTER_S) -> list[int]:
    """Transcribed interviews with a channel that still has chunks but no Opus copy, transcribed more than
    ``older_than_s`` ago (their archive message was lost)."""
    cutoff = (now or utcnow()) - timedelta(seconds=older_than_s)
    with factory() as session:
        return list(session.scalars(
            select(Recording.interview_id).distinct()
            .where(Recording.archive_sha256.is_(None), Recording.wav_purged_at.is_(None),
                   Recording.status != RecordingStatus.DELETED, _transcribed(Recording.interview_id),
                   exists(select(RecordingChunk.id).where(RecordingChunk.recording_id == Recording.id)),
                   exists(select(Transcript.id).where(Transcript.interview_id == Recording.interview_id,
                                                      Transcript.source == SOURCE, Transcript.created_at < cutoff)))
            .order_by(Recording.interview_id)))


@dataclass(frozen=True)
class Decision:
    """One recording the sweep looked at: whether its WAV goes, and if not, the first condition that fails."""

    recording_id: int
    interview_id: int
    channel: str
    chunks: int
    wav_bytes: int
    kept: str | None
    """None: the WAV chunks may be deleted; otherwise why they are kept."""


@dataclass
class PurgeReport:
    """What one sweep found and did."""

    decisions: list[Decision] = field(default_factory=list)
    purged: list[int] = field(default_factory=list)
    """Recordings whose chunks this sweep deleted."""
    chunks_deleted: int = 0
    blobs_deleted: int = 0
    bytes_freed: int = 0

    def summary(self) -> dict[str, int]:
        """Counts for logs and the CLI."""
        return {"recordings_checked": len(self.decisions), "due": sum(d.kept is None for d in self.decisions),
                "purged": len(self.purged), "chunks_deleted": self.chunks_deleted,
                "blobs_deleted": self.blobs_deleted, "bytes_freed": self.bytes_freed}


def _blob_size(blobs: BlobStore, sha256: str) -> int:
    try:
        return blobs.path_for(sha256).stat().st_size
    except (OSError, BlobError):
        return 0


def _opus_problem(blobs: BlobStore, sha256: str, expected_s: float) -> str | None:
    """Why the Opus copy cannot stand in for the WAV, or None when it can."""
    import soundfile

    try:
        data = blobs.get(sha256)  # checks the bytes against the hash
    except BlobError as error:
        return f"the Opus copy is unusable: {error}"
    try:
        info = soundfile.info(io.BytesIO(data))
    except RuntimeError as error:
        return f"the Opus copy {sha256[:12]} cannot be read as audio: {error}"
    length_s = info.frames / info.samplerate
    if abs(length_s - expected_s) > DURATION_TOLERANCE_S:
        return (f"the Opus copy lasts {length_s:.2f} s but the recording {expected_s:.2f} s "
                f"(more than {DURATION_TOLERANCE_S} s apart)")
    return None


def decide(factory: sessionmaker[Session], blobs: BlobStore, *, retention_s: float,
           now: datetime | None = None) -> list[Decision]:
    """Every recording that still has WAV chunks, with whether the policy lets them go now."""
    now = now or utcnow()
    has_transcript = exists(select(Transcript.id).where(Transcript.interview_id == Interview.id,
                                                        Transcript.source == SOURCE))
    with factory() as session:
        rows = session.execute(
            select(Recording, Interview, has_transcript.label("has_transcript"),
                   func.count(RecordingChunk.id), func.max(RecordingChunk.start_s + RecordingChunk.duration_s))
            .join(Interview, Interview.id == Recording.interview_id)
            .join(RecordingChunk, RecordingChunk.recording_id == Recording.id)
            .where(Recording.wav_purged_at.is_(None))
            .group_by(Recording.id, Interview.id)
            .order_by(Recording.id)).all()
        decisions = []
        for recording, interview, transcribed, chunks, end_s in rows:
            kept = _kept(blobs, recording, interview, bool(transcribed), float(end_s or 0.0),
                         retention_s=retention_s, now=now)
            wav_bytes = 0 if kept else sum(_blob_size(blobs, sha256) for sha256 in set(session.scalars(
                select(RecordingChunk.blob_sha256).where(RecordingChunk.recording_id == recording.id))))
            decisions.append(Decision(recording.id, interview.id, recording.channel, int(chunks), wav_bytes, kept))
    return decisions


def _kept(blobs: BlobStore, recording: Recording, interview: Interview, transcribed: bool, end_s: float, *,
          retention_s: float, now: datetime) -> str | None:
    if recording.status == RecordingStatus.DELETED or interview.status == InterviewStatus.WITHDRAWN:
        return "withdrawn (withdrawal erases the audio itself)"
    if recording.status != RecordingStatus.COMPLETE or interview.ended_at is None:
        return f"the recording is not complete (status {recording.status})"
    keep_until = interview.ended_at + timedelta(seconds=retention_s)
    if keep_until > now:
        return f"within the retention period: kept until {keep_until.isoformat(timespec='seconds')}"
    if interview.transcription_status != TranscriptionStatus.DONE or not transcribed:
        return f"no committed transcript (transcription {interview.transcription_status})"
    flags = sorted({flag.get("flag") for flag in interview.qa_flags or []} & RERUN_FLAGS)
    if flags:
        return f"QA flag {', '.join(flags)}: listen to the original or re-run it first"
    if recording.archive_sha256 is None:
        return "no Opus copy yet"
    return _opus_problem(blobs, recording.archive_sha256, end_s)


def purge_wav(factory: sessionmaker[Session], blobs: BlobStore, *, retention_s: float,
              now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Delete the WAV chunks of every recording the policy lets go (see the module's docstring).

    ``dry_run`` decides and reports without changing anything. Safe to run on several workers at
    once and again at any time: a recording is purged by exactly one of them, once.
    """
    now = now or utcnow()
    report = PurgeReport(decide(factory, blobs, retention_s=retention_s, now=now))
    if dry_run:
        return report
    for decision in report.decisions:
        if decision.kept is None:
            _purge_one(factory, blobs, decision, retention_s=retention_s, now=now, report=report)
    if report.purged:
        with transaction(factory) as session:
            audit.record(session, PURGE_ACTOR, "audio.wav_purge", "recordings",
                         {**report.summary(), "recording_ids": report.purged, "retention_s": retention_s})
        logger.info("WAV chunks purged", extra=report.summary())
    return report


def _purge_one(factory: sessionmaker[Session], blobs: BlobStore, decision: Decision, *, retention_s: float,
               now: datetime, report: PurgeReport) -> None:
    with transaction(factory) as session:
        archive_sha256 = session.scalar(select(Recording.archive_sha256).where(Recording.id == decision.recording_id))
        # The interview row's lock orders this against a transcription claim and a withdrawal.
        if changed_rows(session, update(Interview).where(
                Interview.id == decision.interview_id, Interview.transcription_status == TranscriptionStatus.DONE,
                Interview.status != InterviewStatus.WITHDRAWN)
                .values(transcription_status=Interview.transcription_status)) != 1:
            return
        if archive_sha256 is None or changed_rows(session, update(Recording).where(
                Recording.id == decision.recording_id, Recording.wav_purged_at.is_(None),
                Recording.archive_sha256 == archive_sha256, Recording.status == RecordingStatus.COMPLETE)
                .values(wav_purged_at=now)) != 1:
            return  # another sweep purged it first, or something changed since it was checked
        hashes = set(session.scalars(select(RecordingChunk.blob_sha256)
                                     .where(RecordingChunk.recording_id == decision.recording_id)))
        chunks = changed_rows(session, delete(RecordingChunk)
                              .where(RecordingChunk.recording_id == decision.recording_id))
        audit.record(session, PURGE_ACTOR, "recording.wav_purged", _target(decision.interview_id), {
            "recording_id": decision.recording_id, "channel": decision.channel, "chunks": chunks,
            "wav_bytes": decision.wav_bytes, "archive_sha256": archive_sha256, "retention_s": retention_s,
        })
    sizes = {sha256: _blob_size(blobs, sha256) for sha256 in hashes if blobs.exists(sha256)}
    with factory() as session:
        remove_unreferenced(session, blobs, hashes)  # a blob another recording shares stays
    deleted = [sha256 for sha256 in sizes if not blobs.exists(sha256)]
    report.purged.append(decision.recording_id)
    report.chunks_deleted += chunks
    report.blobs_deleted += len(deleted)
    report.bytes_freed += sum(sizes[sha256] for sha256 in deleted)
