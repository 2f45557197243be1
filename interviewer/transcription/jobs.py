"""The offline transcription job as plain functions: claim, transcribe, store, fail, sweep.

How a job completes exactly once
================================

A transcription is asked for by marking the interview ``pending`` (``request_transcription``) and
then sending a message naming the interview; any number of messages may name it. The message's
handler (``run_transcription``) first *claims* the interview row with one compare-and-set UPDATE:
``pending`` (or ``not_started``) becomes ``running`` with ``transcription_claimed_by`` set to the
claimant's token (the Celery task id) and ``transcription_claimed_until`` a lease in the future
(``storage.leases``, which the scheduler's actions use too: fenced by the holder's token). Only
one claimant can win; every other message finds the job done, failed or held, and does nothing. While
it works the job renews its lease every third of ``lease_s`` from a background thread. The result is
written in one transaction that first checks the claim is still ours (a fenced UPDATE to ``done``),
then inserts or replaces the transcript row whose unique key is (interview, ``offline``, settings
hash), sets the QA flags and writes the audit event. If the check fails, nothing is written.

Why a lease and a sweep are needed: Celery's ``acks_late`` only helps if the broker redelivers a
message whose consumer died. Redis does, but only after its visibility timeout (set longer than the
longest job, so hours). Kombu's SQLAlchemy transport, the embedded broker, never does: its ``_get``
marks the message row ``visible = False`` when it hands it to the worker, acknowledging only forgets
the delivery in the worker's memory, and the row is never made visible again except by the graceful
shutdown path (``restore_unacked``), which a SIGKILL or an out-of-memory kill skips. The message is
gone; only the interview row still says ``running``. So every worker runs ``sweep_lapsed_claims``
when it starts and then periodically: a ``running`` row whose lease has lapsed belongs to a dead
worker, and the sweep sends a fresh message and sets the row back to ``pending``. The new message
claims it and the job runs again from the start (nothing partial was written). If Redis later
redelivers the old message too, it finds the job ``done`` and does nothing.

``transcription_attempts`` counts claims: first deliveries, take-overs after a dead worker, retries
after a transient database error, and Celery's redelivery when a pool process dies (same task id).
A job claimed more than ``max_attempts`` times (a recording that kills its worker every time) is
marked failed instead of looping for ever.

Retrying: transient errors (``TransientError``) leave the claim in place; the retried task carries
the same token and re-claims it at once, or, if the retry message is lost, the lease lapses and the
sweep re-queues the job.

Failures that another attempt cannot fix (corrupt or empty audio, a missing model) mark the job
``failed`` with the reason in ``transcription_error``; they never touch recordings or an earlier
transcript. Every state change is audited with the actor ``system:transcription``.

The archival copy of each channel (Opus in Ogg) is not made here: encoding it is CPU work that would
idle a GPU worker, so the Celery wrapper queues ``interviewer.transcription.retention.archive_recordings``
on the CPU queue once this job's transcript is committed. A recording whose WAV chunks the retention
sweep has deleted (``Recording.wav_purged_at``) is transcribed from that Opus copy instead.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from interviewer import metrics
from interviewer.transcription.audio import ChannelSource, ChunkRef, SkippedChunk, assemble_channel
from interviewer.transcription.errors import (
    AudioInputError,
    LeaseLost,
    TranscriptionError,
    TransientError,
)
from interviewer.transcription.guards import Dropped, GuardOptions, guard_segments
from interviewer.transcription.merge import (
    count_words,
    merge_channels,
    transcript_text,
    word_error_rate,
)
from interviewer.transcription.qa import ChannelReport, corrupt_chunk_flags, qa_flags, replace_flags
from interviewer.transcription.whisper import ChannelRun, RawSegment, settings_hash
from storage import audit, leases
from storage.blobs import BlobStore
from storage.db import transaction
from storage.models import Interview, Recording, RecordingChunk, Transcript, Turn, utcnow
from storage.states import InterviewStatus, TranscriptionStatus

logger = logging.getLogger(__name__)

ACTOR = "system:transcription"
SOURCE = "offline"
CLAIMABLE = (TranscriptionStatus.NOT_STARTED, TranscriptionStatus.PENDING)
WITHDRAWN = InterviewStatus.WITHDRAWN
"""The interview status (and transcription status) withdrawal sets; the job's final write refuses it."""
LEASE = leases.LeaseColumns(key=Interview.id, holder=Interview.transcription_claimed_by,
                             until=Interview.transcription_claimed_until, attempts=Interview.transcription_attempts)
"""Where an interview's transcription lease lives."""
TRANSIENT_DATABASE_ERRORS = (OperationalError, DisconnectionError, PoolTimeoutError)
"""Database errors that say "not now" (connection lost, database locked, pool exhausted)."""


class Transcriber(Protocol):
    """What the job needs from a speech recogniser (``WhisperRunner``, or a stand-in in tests)."""

    def settings(self, **guards: Any) -> dict[str, Any]: ...

    def transcribe(self, audio: np.ndarray, *, on_progress: Callable[[float], None] | None = None) -> ChannelRun: ...


@dataclass(frozen=True)
class JobResult:
    """How one delivery of the job ended: ``done``, ``failed`` or ``skipped`` (someone else's job)."""

    outcome: str
    detail: str
    transcript_id: int | None = None


@dataclass
class _Inputs:
    sources: list[ChannelSource]
    live_participant_text: str
    durations: dict[str, float] = field(default_factory=dict)


def _target(interview_id: int) -> str:
    return f"interview:{interview_id}"


def _live_claim(now: datetime) -> Any:
    return and_(Interview.transcription_status == TranscriptionStatus.RUNNING, ~LEASE.free(now))


def request_transcription(factory: sessionmaker[Session], interview_id: int, *, requested_by: str,
                          now: datetime | None = None) -> bool:
    """Mark the interview's transcription ``pending`` so that a message can be sent after this commits.

    Works from any state (a finished transcription is redone and replaced) except while a live claim
    holds the job; then returns False and changes nothing. Raises ``LookupError`` for an unknown id.
    """
    now = now or utcnow()
    with transaction(factory) as session:
        previous = session.scalar(select(Interview.transcription_status).where(Interview.id == interview_id))
        if previous is None:
            raise LookupError(f"there is no interview {interview_id}")
        changed = leases.changed_rows(
            session,
            update(Interview)
            .where(Interview.id == interview_id, ~_live_claim(now))
            .values({Interview.transcription_status: TranscriptionStatus.PENDING, Interview.transcription_error: None,
                     Interview.transcription_attempts: 0, Interview.transcription_progress: 0.0, **LEASE.released()})
        )
        if changed != 1:
            return False
        audit.record(session, ACTOR, "transcription.queued", _target(interview_id),
                     {"requested_by": requested_by, "previous_status": previous})
    return True


def claim(factory: sessionmaker[Session], interview_id: int, token: str, *, lease_s: float,
          now: datetime | None = None) -> int | None:
    """Take the job for ``token``; returns the attempt number, or None when it is not ours to take.

    Claimable: ``pending`` or ``not_started``; ``running`` whose lease lapsed (its worker died); or
    ``running`` under this same token (a retry of the same task after a transient error).
    """
    now = now or utcnow()
    with transaction(factory) as session:
        claimed = leases.take(
            session, LEASE, interview_id, token, now=now, lease_s=lease_s,
            when=or_(Interview.transcription_status.in_(CLAIMABLE),
                     and_(Interview.transcription_status == TranscriptionStatus.RUNNING,
                          or_(LEASE.lapsed(now), LEASE.held_by(token)))),
            values={Interview.transcription_status: TranscriptionStatus.RUNNING, Interview.transcription_progress: 0.0,
                    Interview.transcription_error: None})
        if not claimed:
            return None
        attempt = int(session.scalar(select(Interview.transcription_attempts)
                                     .where(Interview.id == interview_id)) or 0)
        audit.record(session, ACTOR, "transcription.started", _target(interview_id),
                     {"attempt": attempt, "claim": token})
    return attempt


def mark_failed(factory: sessionmaker[Session], interview_id: int, token: str, reason: str) -> bool:
    """Record the job as failed with ``reason``, if ``token`` still holds it; returns whether it did."""
    with transaction(factory) as session:
        if not leases.fenced_update(session, LEASE, interview_id, token,
                                    {Interview.transcription_status: TranscriptionStatus.FAILED,
                                     Interview.transcription_error: reason, **LEASE.released()},
                                    when=Interview.transcription_status == TranscriptionStatus.RUNNING):
            return False
        audit.record(session, ACTOR, "transcription.failed", _target(interview_id),
                     {"reason": reason, "claim": token})
    metrics.JOB_FAILURES.labels(job="transcription").inc()
    logger.warning("transcription failed", extra={"interview_id": interview_id})
    return True


def sweep_lapsed_claims(factory: sessionmaker[Session], enqueue: Callable[[int], object], *,
                        now: datetime | None = None) -> list[int]:
    """Re-queue every job whose worker died: ``running`` with a lapsed lease. Returns their ids.

    The message is sent before the row goes back to ``pending``: if the update is lost, the message
    still finds the lease lapsed and takes the job; if the send fails, the row stays as it was and the
    next sweep tries again.
    """
    now = now or utcnow()
    with factory() as session:
        lapsed = session.execute(
            select(Interview.id, Interview.transcription_claimed_by)
            .where(Interview.transcription_status == TranscriptionStatus.RUNNING, LEASE.lapsed(now))
            .order_by(Interview.id)
        ).all()
    requeued = []
    for interview_id, previous_claim in lapsed:
        enqueue(interview_id)
        with transaction(factory) as session:
            if leases.fenced_update(session, LEASE, interview_id, previous_claim,
                                    {Interview.transcription_status: TranscriptionStatus.PENDING,
                                     Interview.transcription_progress: 0.0, **LEASE.released()},
                                    when=and_(Interview.transcription_status == TranscriptionStatus.RUNNING,
                                              LEASE.lapsed(now))):
                audit.record(session, ACTOR, "transcription.requeued", _target(interview_id),
                             {"reason": "claim lapsed: its worker stopped renewing it",
                              "previous_claim": previous_claim})
                requeued.append(interview_id)
    if requeued:
        logger.warning("re-queued transcriptions whose worker died", extra={"interview_ids": requeued})
    return requeued


def interviews_awaiting_transcription(factory: sessionmaker[Session]) -> list[int]:
    """Interviews whose transcription is ``pending``, or ``not_started`` though they ended with audio."""
    has_audio = exists(select(RecordingChunk.id).join(Recording)
                       .where(Recording.interview_id == Interview.id))
    with factory() as session:
        return list(session.scalars(
            select(Interview.id)
            .where(or_(Interview.transcription_status == TranscriptionStatus.PENDING,
                       and_(Interview.transcription_status == TranscriptionStatus.NOT_STARTED,
                            Interview.ended_at.is_not(None), has_audio)))
            .order_by(Interview.id)
        ))


class Lease(leases.Heartbeat):
    """Renews a job's claim from a background thread while it works, recording its progress."""

    def __init__(self, factory: sessionmaker[Session], interview_id: int, token: str, lease_s: float) -> None:
        super().__init__(self._extend_and_record, lease_s, name=f"lease-interview-{interview_id}")
        self.factory = factory
        self.interview_id = interview_id
        self.token = token
        self.progress = 0.0

    def _extend_and_record(self) -> bool:
        with transaction(self.factory) as session:
            return leases.renew(session, LEASE, self.interview_id, self.token, now=utcnow(), lease_s=self.lease_s,
                                when=Interview.transcription_status == TranscriptionStatus.RUNNING,
                                values={Interview.transcription_progress: round(min(self.progress, 0.999), 4)})

    def check(self) -> None:
        """Raise ``LeaseLost`` if another worker has taken the job."""
        if self.lost.is_set():
            raise LeaseLost(f"interview {self.interview_id}: another worker took over the job from {self.token}")


def run_transcription(factory: sessionmaker[Session], blobs: BlobStore, transcriber: Transcriber,
                      interview_id: int, *, token: str, lease_s: float = 60.0, max_attempts: int = 3,
                      budget_s: int | None = None, guards: GuardOptions | None = None,
                      stop_errors: tuple[type[BaseException], ...] = ()) -> JobResult:
    """Transcribe an interview's recordings and store the merged transcript and QA flags, once.

    ``token`` identifies this claimant (the Celery task id; a retry of the same task reuses it).
    ``budget_s`` is the interview guide's time budget in seconds, for the QA flags (None: unknown).
    ``stop_errors`` are errors that stop the job from outside (a time limit): they are re-raised
    untouched for the caller to record with its own reason.
    Raises ``TransientError`` when the database is briefly unavailable (the caller retries) and
    re-raises unexpected errors after recording them; every other outcome is returned.
    """
    guards = guards or GuardOptions()
    try:
        attempt = claim(factory, interview_id, token, lease_s=lease_s)
        if attempt is None:
            return JobResult("skipped", _why_not_claimed(factory, interview_id))
        if attempt > max_attempts:
            reason = (f"gave up after {max_attempts} attempts: none finished (a worker killed mid-job, for "
                      "example for running out of memory, or the database unavailable); queue it again to retry")
            mark_failed(factory, interview_id, token, reason)
            return JobResult("failed", reason)
    except TRANSIENT_DATABASE_ERRORS as error:
        raise TransientError(f"the database is unavailable ({type(error).__name__})") from error

    try:
        with Lease(factory, interview_id, token, lease_s) as lease:
            return _transcribe_and_store(factory, blobs, transcriber, interview_id, token=token, lease=lease,
                                         budget_s=budget_s, guards=guards, attempt=attempt)
    except (LeaseLost, TranscriptionError) as error:
        if _withdrawn(factory, interview_id):  # withdrawal erased the audio and took the claim away
            return _withdrawn_result(interview_id)
        if not isinstance(error, LeaseLost):
            mark_failed(factory, interview_id, token, str(error))
            return JobResult("failed", str(error))
        logger.warning("transcription lease lost; another worker has the job", extra={"interview_id": interview_id})
        return JobResult("skipped", str(error))
    except stop_errors:
        raise
    except TransientError:
        raise
    except TRANSIENT_DATABASE_ERRORS as error:
        raise TransientError(f"the database is unavailable ({type(error).__name__})") from error
    except Exception as error:
        mark_failed(factory, interview_id, token, f"the job stopped on {type(error).__name__}: {error}")
        raise


def _withdrawn(factory: sessionmaker[Session], interview_id: int) -> bool:
    with factory() as session:
        return session.scalar(select(Interview.status).where(Interview.id == interview_id)) == WITHDRAWN


def _withdrawn_result(interview_id: int) -> JobResult:
    return JobResult("withdrawn", f"interview {interview_id}: the participant withdrew while it was transcribed; "
                                  "nothing was stored")


def _why_not_claimed(factory: sessionmaker[Session], interview_id: int) -> str:
    with factory() as session:
        interview = session.get(Interview, interview_id)
        if interview is None:
            return f"there is no interview {interview_id}"
        status = interview.transcription_status
        if status == TranscriptionStatus.DONE:
            return f"interview {interview_id} is already transcribed"
        if status == TranscriptionStatus.FAILED:
            return f"interview {interview_id} failed earlier ({interview.transcription_error}); queue it again to retry"
        return (f"interview {interview_id} is {status}, held by {interview.transcription_claimed_by} "
                f"until {interview.transcription_claimed_until}")


def _load_inputs(factory: sessionmaker[Session], interview_id: int) -> _Inputs:
    with factory() as session:
        recordings = session.scalars(select(Recording).where(Recording.interview_id == interview_id)
                                     .order_by(Recording.id)).all()
        sources = []
        durations = {}
        for recording in recordings:
            chunks = session.scalars(select(RecordingChunk).where(RecordingChunk.recording_id == recording.id)
                                     .order_by(RecordingChunk.index)).all()
            purged = recording.wav_purged_at is not None and not chunks
            sources.append(ChannelSource(
                channel=recording.channel, recording_id=recording.id, sample_rate=recording.sample_rate,
                chunks=tuple(ChunkRef(c.index, c.start_s, c.blob_sha256, c.duration_s) for c in chunks),
                archive_sha256=recording.archive_sha256 if purged else None,
            ))
            durations[recording.channel] = (recording.duration_s if purged else
                                             max((c.start_s + c.duration_s for c in chunks), default=0.0))
        live = session.scalars(select(Turn.text).where(Turn.interview_id == interview_id,
                                                       Turn.speaker == "participant").order_by(Turn.seq)).all()
    return _Inputs(sources=sources, live_participant_text=" ".join(live), durations=durations)


def _transcribe_and_store(factory: sessionmaker[Session], blobs: BlobStore, transcriber: Transcriber,
                          interview_id: int, *, token: str, lease: Lease, budget_s: int | None,
                          guards: GuardOptions, attempt: int) -> JobResult:
    inputs = _load_inputs(factory, interview_id)
    sources = [source for source in inputs.sources if source.chunks or source.archive_sha256]
    if not sources:
        what = "it has no recordings" if not inputs.sources else "its recordings have no chunks"
        raise AudioInputError(f"interview {interview_id} has no recorded audio: {what}")

    total_s = sum(inputs.durations[source.channel] for source in sources) or 1.0
    done_s = 0.0
    kept: dict[str, list[RawSegment]] = {}
    dropped: dict[str, list[Dropped]] = {}
    reports: dict[str, ChannelReport] = {}
    runs: dict[str, dict[str, Any]] = {}
    duration_s = 0.0
    skipped: list[SkippedChunk] = []
    for source in sources:
        audio = assemble_channel(source, blobs)
        skipped.extend(audio.skipped)
        lease.check()
        offset = done_s

        def progress(seconds: float, offset: float = offset) -> None:
            lease.progress = min(1.0, (offset + seconds) / total_s)
            lease.check()

        started = time.perf_counter()
        run = transcriber.transcribe(audio.samples, on_progress=progress)
        if audio.duration_s > 0:
            metrics.TRANSCRIPTION_RTF.labels(device=str(run.device)).observe(
                (time.perf_counter() - started) / audio.duration_s)
        kept[source.channel], dropped[source.channel] = guard_segments(run.segments, guards)
        reports[source.channel] = ChannelReport(present=True, silent=audio.is_silent,
                                                segment_count=len(kept[source.channel]))
        runs[source.channel] = {"device": run.device, "compute_type": run.compute_type,
                                "batch_size": run.batch_size, "fallbacks": run.fallbacks}
        duration_s = max(duration_s, audio.duration_s)
        done_s += inputs.durations[source.channel]
        del audio
        lease.check()

    segments = merge_channels(kept)
    participant_text = " ".join(s["text"] for s in segments if s["speaker"] == "participant")
    participant_words = count_words(participant_text)
    wer_vs_live = word_error_rate(inputs.live_participant_text, participant_text)
    flags = qa_flags(segments=segments, channels=reports, duration_s=duration_s,
                     participant_words=participant_words, budget_s=budget_s) + corrupt_chunk_flags(skipped)
    audio_sha256 = hashlib.sha256("|".join(sorted(s.fingerprint() for s in sources)).encode()).hexdigest()
    settings = transcriber.settings(**guards.as_dict())
    settings["run"] = {"channels": runs, "audio_sha256": audio_sha256}
    digest = settings_hash(settings)
    dropped_counts = _count_reasons(d for channel in dropped.values() for d in channel)

    with transaction(factory) as session:
        finished = leases.fenced_update(
            session, LEASE, interview_id, token,
            {Interview.transcription_status: TranscriptionStatus.DONE, Interview.transcription_error: None,
             Interview.transcription_progress: 1.0, **LEASE.released()},
            when=and_(Interview.transcription_status == TranscriptionStatus.RUNNING, Interview.status != WITHDRAWN))
        if not finished:
            # Withdrawal locks the interview row before it erases: this UPDATE waited for it and found it withdrawn.
            if session.scalar(select(Interview.status).where(Interview.id == interview_id)) == WITHDRAWN:
                return _withdrawn_result(interview_id)
            raise LeaseLost(f"interview {interview_id}: the claim of {token} lapsed before the result was stored")
        interview = session.get(Interview, interview_id)
        assert interview is not None
        interview.qa_flags = replace_flags(interview.qa_flags or [], flags)
        transcript = session.scalar(select(Transcript).where(Transcript.interview_id == interview_id,
                                                             Transcript.source == SOURCE,
                                                             Transcript.settings_hash == digest))
        replaced = transcript is not None
        if transcript is None:
            transcript = Transcript(interview_id=interview_id, source=SOURCE, settings_hash=digest)
            session.add(transcript)
        transcript.model = str(settings.get("model", ""))[-120:]
        transcript.model_version = str(settings.get("faster_whisper", ""))
        transcript.settings = settings
        transcript.segments = segments
        transcript.text = transcript_text(segments)
        transcript.participant_words = participant_words
        transcript.wer_vs_live = None if wer_vs_live is None else round(wer_vs_live, 4)
        transcript.created_at = utcnow()
        session.flush()
        audit.record(session, ACTOR, "transcription.completed", _target(interview_id), {
            "transcript_id": transcript.id, "replaced": replaced, "attempt": attempt, "claim": token,
            "settings_hash": digest, "audio_sha256": audio_sha256, "segments": len(segments),
            "participant_words": participant_words, "dropped_segments": dropped_counts,
            "duration_s": round(duration_s, 2), "qa_flags": [f["flag"] for f in flags], "run": runs,
            "from_opus": sorted(s.channel for s in sources if not s.chunks),
        })
        transcript_id = transcript.id
    return JobResult("done", f"interview {interview_id}: {len(segments)} segments, "
                             f"{participant_words} participant words", transcript_id)


def remove_unreferenced(session: Session, blobs: BlobStore, hashes: set[str]) -> None:
    """Delete those of ``hashes`` that no recording or chunk row names (identical audio may share a blob)."""
    used = set(session.scalars(select(Recording.archive_sha256).where(Recording.archive_sha256.in_(hashes))))
    used |= set(session.scalars(select(RecordingChunk.blob_sha256).where(RecordingChunk.blob_sha256.in_(hashes))))
    used |= set(session.scalars(select(Recording.sha256).where(Recording.sha256.in_(hashes))))
    for sha256 in sorted(hashes - used):
        blobs.delete(sha256)


def _count_reasons(dropped: Sequence[Dropped] | Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in dropped:
        counts[item.reason] = counts.get(item.reason, 0) + 1
    return dict(sorted(counts.items()))
