"""Audio at rest on a real database: the Opus archive task, and the sweep that deletes WAV chunks by the policy."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription.archive import decode, opus_bytes
from interviewer.transcription.jobs import request_transcription, run_transcription
from interviewer.transcription.retention import (
    archive_recordings,
    decide,
    interviews_missing_archive,
    purge_wav,
)
from interviewer.transcription.synthetic import SyntheticInterview, store_interview
from storage.audit import events_for
from storage.blobs import BlobStore
from storage.db import transaction
from storage.models import AuditEvent, Interview, Participant, Recording, RecordingChunk, Visit, utcnow
from storage.models import Study as StudyRow
from survey.withdrawal import withdraw
from tests.interviewer.transcription.test_jobs import (
    INTERVIEWER,
    PARTICIPANT,
    ScriptedTranscriber,
    audit_actions,
    interview_row,
)

DAY_S = 86400
ENDED_DAYS_AGO = 3


def add_ended_interview(factory: sessionmaker[Session], blobs: BlobStore, synthetic: SyntheticInterview) -> int:
    """An interview that ended ``ENDED_DAYS_AGO`` days ago, of a participant who can withdraw."""
    with transaction(factory) as session:
        study = StudyRow(slug="retention", title="t", protocol_version="1", protocol_hash="0" * 64)
        session.add(study)
        session.flush()
        participant = Participant(study_id=study.id, prolific_pid="r" * 24, pseudonym_id="p-retain", status="active")
        session.add(participant)
        session.flush()
        visit = Visit(participant_id=participant.id, wave=1, status="completed")
        session.add(visit)
        session.flush()
        ended = utcnow() - timedelta(days=ENDED_DAYS_AGO)
        return store_interview(session, blobs, synthetic, ended_at=ended, visit_id=visit.id).id


def transcribe(factory: sessionmaker[Session], blobs: BlobStore, interview_id: int,
               transcriber: Any = None) -> None:
    assert request_transcription(factory, interview_id, requested_by="test")
    result = run_transcription(factory, blobs, transcriber or ScriptedTranscriber(INTERVIEWER, PARTICIPANT),
                               interview_id, token=f"t-{utcnow().timestamp()}")
    assert result.outcome == "done", result.detail


@pytest.fixture
def archived(session_factory: sessionmaker[Session], blobs: BlobStore, synthetic: SyntheticInterview) -> int:
    """A transcribed interview with both Opus copies stored, ended three days ago."""
    interview_id = add_ended_interview(session_factory, blobs, synthetic)
    transcribe(session_factory, blobs, interview_id)
    assert sorted(archive_recordings(session_factory, blobs, interview_id).archived) == ["interviewer", "participant"]
    return interview_id


def recordings(factory: sessionmaker[Session], interview_id: int) -> dict[str, Recording]:
    with factory() as session:
        return {r.channel: r for r in session.scalars(select(Recording).where(Recording.interview_id == interview_id))}


def chunk_count(factory: sessionmaker[Session], interview_id: int) -> int:
    with factory() as session:
        return len(session.scalars(select(RecordingChunk.id).join(Recording)
                                   .where(Recording.interview_id == interview_id)).all())


def chunk_hashes(factory: sessionmaker[Session], interview_id: int) -> set[str]:
    with factory() as session:
        return set(session.scalars(select(RecordingChunk.blob_sha256).join(Recording)
                                   .where(Recording.interview_id == interview_id)))


def events(factory: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def kept_reasons(factory: sessionmaker[Session], blobs: BlobStore, retention_s: float = DAY_S) -> dict[str, str | None]:
    return {d.channel: d.kept for d in decide(factory, blobs, retention_s=retention_s)}


# The archive task


def test_the_archive_task_stores_an_opus_copy_of_each_channel_as_long_as_its_recording_and_far_smaller(
        session_factory, blobs, synthetic) -> None:
    interview_id = add_ended_interview(session_factory, blobs, synthetic)
    transcribe(session_factory, blobs, interview_id)
    assert all(r.archive_sha256 is None for r in recordings(session_factory, interview_id).values())  # not the job's

    result = archive_recordings(session_factory, blobs, interview_id)

    with session_factory() as session:
        rows = session.scalars(select(Recording).where(Recording.interview_id == interview_id)).all()
        chunk_bytes = {r.channel: sum(len(blobs.get(c.blob_sha256)) for c in r.chunks) for r in rows}
        lengths = {r.channel: max(c.start_s + c.duration_s for c in r.chunks) for r in rows}
        archives = {r.channel: r.archive_sha256 for r in rows}
    assert sorted(result.archived) == sorted(archives) == ["interviewer", "participant"]
    for channel, sha256 in archives.items():
        assert sha256 is not None
        samples, rate = decode(blobs.get(sha256))
        assert rate == 16000
        assert len(samples) / rate == pytest.approx(lengths[channel], abs=0.1)
        assert len(blobs.get(sha256)) == result.archived[channel]
        assert len(blobs.get(sha256)) < chunk_bytes[channel] / 5, channel
    archived_events = [e for e in events(session_factory, "recording.archived")]
    assert sorted(e.details["channel"] for e in archived_events) == ["interviewer", "participant"]
    assert {e.actor for e in archived_events} == {"system:archive"}


def test_a_second_delivery_of_the_archive_task_stores_nothing(session_factory, blobs, archived) -> None:
    before = {channel: r.archive_sha256 for channel, r in recordings(session_factory, archived).items()}
    files_before = sorted(p.name for p in blobs.root.rglob("*") if p.is_file())

    again = archive_recordings(session_factory, blobs, archived)

    assert again.archived == {}
    assert {channel: r.archive_sha256 for channel, r in recordings(session_factory, archived).items()} == before
    assert sorted(p.name for p in blobs.root.rglob("*") if p.is_file()) == files_before
    assert len(events(session_factory, "recording.archived")) == 2


def test_the_archive_task_waits_for_the_transcript(session_factory, blobs, synthetic) -> None:
    interview_id = add_ended_interview(session_factory, blobs, synthetic)
    assert archive_recordings(session_factory, blobs, interview_id).archived == {}
    assert all(r.archive_sha256 is None for r in recordings(session_factory, interview_id).values())


class WithdrawingBlobStore(BlobStore):
    """The real blob store; the participant withdraws right after the first Opus copy reaches it."""

    def __init__(self, root: Any, factory: sessionmaker[Session], participant_id: int) -> None:
        super().__init__(root)
        self.factory = factory
        self.participant_id = participant_id
        self.withdrawn = False

    def put(self, data: bytes) -> str:
        sha256 = super().put(data)
        if not self.withdrawn:
            self.withdrawn = True
            with transaction(self.factory) as session:
                withdraw(session, session.get(Participant, self.participant_id), None, self)
        return sha256


def test_audio_of_a_participant_who_withdraws_while_it_is_encoded_is_not_archived(session_factory, blobs,
                                                                                  synthetic) -> None:
    interview_id = add_ended_interview(session_factory, blobs, synthetic)
    transcribe(session_factory, blobs, interview_id)
    with session_factory() as session:
        participant_id = session.scalars(select(Participant.id)).one()

    result = archive_recordings(session_factory, WithdrawingBlobStore(blobs.root, session_factory, participant_id),
                                interview_id)

    assert result.archived == {}
    assert all((r.status, r.archive_sha256) == ("deleted", None)
               for r in recordings(session_factory, interview_id).values())
    assert [p.name for p in blobs.root.rglob("*") if p.is_file()] == []  # neither chunks nor the copy it wrote
    assert events(session_factory, "recording.archived") == []


def test_a_transcribed_interview_without_its_copy_is_found_for_a_resend(session_factory, blobs, synthetic) -> None:
    interview_id = add_ended_interview(session_factory, blobs, synthetic)
    transcribe(session_factory, blobs, interview_id)
    assert interviews_missing_archive(session_factory) == []  # its message may still be on its way
    later = utcnow() + timedelta(hours=2)
    assert interviews_missing_archive(session_factory, now=later) == [interview_id]
    archive_recordings(session_factory, blobs, interview_id)
    assert interviews_missing_archive(session_factory, now=later) == []


# The WAV purge: each condition that keeps the WAV


def test_the_sweep_deletes_the_wav_chunks_once_every_condition_holds_and_keeps_the_opus_copy(
        session_factory, blobs, archived) -> None:
    hashes = chunk_hashes(session_factory, archived)  # identical chunks (silence) share a blob
    chunks = chunk_count(session_factory, archived)
    archives = {channel: r.archive_sha256 for channel, r in recordings(session_factory, archived).items()}
    wav_bytes = sum(blobs.path_for(sha).stat().st_size for sha in hashes)
    with session_factory() as session:
        per_channel = {r.channel: sum(blobs.path_for(sha).stat().st_size for sha in {c.blob_sha256 for c in r.chunks})
                       for r in session.scalars(select(Recording).where(Recording.interview_id == archived))}

    report = purge_wav(session_factory, blobs, retention_s=DAY_S)

    after = recordings(session_factory, archived)
    assert sorted(report.purged) == sorted(r.id for r in after.values())
    assert all(r.wav_purged_at is not None and r.status == "complete" for r in after.values())
    assert {channel: r.archive_sha256 for channel, r in after.items()} == archives
    assert chunk_hashes(session_factory, archived) == set()
    assert [sha for sha in hashes if blobs.exists(sha)] == []
    assert all(blobs.exists(sha) for sha in archives.values() if sha)
    assert report.summary() == {"recordings_checked": 2, "due": 2, "purged": 2, "chunks_deleted": chunks,
                                "blobs_deleted": len(hashes), "bytes_freed": wav_bytes}
    purged = events(session_factory, "recording.wav_purged")
    assert sorted(e.details["channel"] for e in purged) == ["interviewer", "participant"]
    assert sum(e.details["chunks"] for e in purged) == chunks
    assert {e.details["channel"]: e.details["wav_bytes"] for e in purged} == per_channel
    assert {(e.actor, e.target) for e in purged} == {("system:retention", f"interview:{archived}")}
    [sweep] = events(session_factory, "audio.wav_purge")
    assert (sweep.details["purged"], sweep.details["chunks_deleted"], sweep.details["retention_s"]) == (
        2, chunks, DAY_S)


def test_within_the_retention_period_the_wav_is_kept(session_factory, blobs, archived) -> None:
    report = purge_wav(session_factory, blobs, retention_s=(ENDED_DAYS_AGO + 1) * DAY_S)
    assert report.purged == []
    assert all(reason is not None and reason.startswith("within the retention period")
               for reason in kept_reasons(session_factory, blobs, (ENDED_DAYS_AGO + 1) * DAY_S).values())
    assert chunk_hashes(session_factory, archived)


def test_without_a_committed_transcript_the_wav_is_kept(session_factory, blobs, archived) -> None:
    assert request_transcription(session_factory, archived, requested_by="test")  # a re-run waits in the queue
    assert purge_wav(session_factory, blobs, retention_s=DAY_S).purged == []
    assert set(kept_reasons(session_factory, blobs).values()) == {"no committed transcript (transcription pending)"}
    assert chunk_hashes(session_factory, archived)


def test_a_qa_flag_asking_for_the_original_keeps_the_wav(session_factory, blobs, archived) -> None:
    with transaction(session_factory) as session:
        session.execute(update(Interview).where(Interview.id == archived).values(
            qa_flags=[{"flag": "low_confidence", "detail": "40 % of speech under -1.0"},
                      {"flag": "short_interview", "detail": "under half the budget"}]))
    assert purge_wav(session_factory, blobs, retention_s=DAY_S).purged == []
    assert set(kept_reasons(session_factory, blobs).values()) == {
        "QA flag low_confidence: listen to the original or re-run it first"}
    assert chunk_hashes(session_factory, archived)


def test_without_an_opus_copy_the_wav_is_kept(session_factory, blobs, synthetic) -> None:
    interview_id = add_ended_interview(session_factory, blobs, synthetic)
    transcribe(session_factory, blobs, interview_id)
    assert purge_wav(session_factory, blobs, retention_s=DAY_S).purged == []
    assert set(kept_reasons(session_factory, blobs).values()) == {"no Opus copy yet"}
    assert chunk_hashes(session_factory, interview_id)


def test_an_opus_copy_whose_bytes_no_longer_match_its_hash_keeps_the_wav(session_factory, blobs, archived) -> None:
    participant = recordings(session_factory, archived)["participant"]
    assert participant.archive_sha256 is not None
    path = blobs.path_for(participant.archive_sha256)
    path.write_bytes(path.read_bytes()[:-100] + bytes(100))

    report = purge_wav(session_factory, blobs, retention_s=DAY_S)

    assert [d.channel for d in report.decisions if d.recording_id in report.purged] == ["interviewer"]
    reason = kept_reasons(session_factory, blobs)["participant"]
    assert reason is not None and "corrupted" in reason
    assert recordings(session_factory, archived)["participant"].wav_purged_at is None
    with session_factory() as session:
        assert session.scalars(select(RecordingChunk).where(RecordingChunk.recording_id == participant.id)).all()


def test_an_opus_copy_shorter_than_the_recording_keeps_the_wav(session_factory, blobs, archived) -> None:
    participant = recordings(session_factory, archived)["participant"]
    samples, rate = decode(blobs.get(participant.archive_sha256 or ""))
    short = blobs.put(opus_bytes(samples[:-rate // 2], rate))  # half a second missing
    with transaction(session_factory) as session:
        session.execute(update(Recording).where(Recording.id == participant.id).values(archive_sha256=short))
    purge_wav(session_factory, blobs, retention_s=DAY_S)
    reason = kept_reasons(session_factory, blobs)["participant"]
    assert reason is not None and "the Opus copy lasts" in reason
    assert recordings(session_factory, archived)["participant"].wav_purged_at is None


def test_a_withdrawn_participants_recordings_are_left_to_withdrawal(session_factory, blobs, archived) -> None:
    with transaction(session_factory) as session:
        session.execute(update(Recording).where(Recording.interview_id == archived).values(status="deleted"))
    assert purge_wav(session_factory, blobs, retention_s=DAY_S).purged == []
    assert events(session_factory, "recording.wav_purged") == []


# The WAV purge: dry run, repetition, concurrency


def test_a_dry_run_reports_what_would_go_and_changes_nothing(session_factory, blobs, archived) -> None:
    hashes = chunk_hashes(session_factory, archived)
    report = purge_wav(session_factory, blobs, retention_s=DAY_S, dry_run=True)
    assert sorted(d.channel for d in report.decisions if d.kept is None) == ["interviewer", "participant"]
    assert report.purged == [] and chunk_hashes(session_factory, archived) == hashes
    assert all(blobs.exists(sha) for sha in hashes)
    assert events(session_factory, "recording.wav_purged") == []


def test_running_the_sweep_again_changes_nothing(session_factory, blobs, archived) -> None:
    first = purge_wav(session_factory, blobs, retention_s=DAY_S)
    files = sorted(p.name for p in blobs.root.rglob("*") if p.is_file())
    second = purge_wav(session_factory, blobs, retention_s=DAY_S)
    assert len(first.purged) == 2
    assert (second.decisions, second.purged) == ([], [])
    assert sorted(p.name for p in blobs.root.rglob("*") if p.is_file()) == files
    assert len(events(session_factory, "recording.wav_purged")) == 2


def test_two_sweeps_at_once_purge_each_recording_once(session_factory, blobs, archived) -> None:
    reports: list[Any] = []
    start = threading.Barrier(2)

    def sweep() -> None:
        start.wait()
        reports.append(purge_wav(session_factory, blobs, retention_s=DAY_S))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r for report in reports for r in report.purged) == sorted(
        r.id for r in recordings(session_factory, archived).values())
    assert len(events(session_factory, "recording.wav_purged")) == 2
    assert chunk_hashes(session_factory, archived) == set()


# After the purge: re-transcription and withdrawal


class RecordingTranscriber(ScriptedTranscriber):
    """The scripted transcriber, keeping what audio it was given."""

    def __init__(self) -> None:
        super().__init__(INTERVIEWER, PARTICIPANT)
        self.heard: list[np.ndarray] = []

    def transcribe(self, audio: np.ndarray, *, on_progress: Any = None) -> Any:
        self.heard.append(audio.copy())
        return super().transcribe(audio, on_progress=on_progress)


def test_a_transcription_after_the_purge_hears_the_opus_copy(session_factory, blobs, archived) -> None:
    before = RecordingTranscriber()
    transcribe(session_factory, blobs, archived, before)
    purge_wav(session_factory, blobs, retention_s=DAY_S)

    after = RecordingTranscriber()
    transcribe(session_factory, blobs, archived, after)

    assert len(after.heard) == 2
    for wav, opus in zip(before.heard, after.heard, strict=True):
        assert len(opus) == pytest.approx(len(wav), abs=1600)  # within 0.1 s at 16 kHz
        n = min(len(wav), len(opus))
        assert np.corrcoef(wav[:n], opus[:n])[0, 1] > 0.9  # the same speech, lossily coded
    with session_factory() as session:
        completed = events_for(session, f"interview:{archived}")[-1]
    assert completed.action == "transcription.completed"
    assert completed.details["from_opus"] == ["interviewer", "participant"]
    assert interview_row(session_factory, archived).transcription_status == "done"


def test_withdrawal_after_the_purge_removes_the_opus_copy(session_factory, blobs, archived) -> None:
    purge_wav(session_factory, blobs, retention_s=DAY_S)
    assert [p for p in blobs.root.rglob("*") if p.is_file()]  # the Opus copies
    with transaction(session_factory) as session:
        withdraw(session, session.scalars(select(Participant)).one(), None, blobs)
    assert [p.name for p in blobs.root.rglob("*") if p.is_file()] == []
    assert all((r.status, r.archive_sha256) == ("deleted", None)
               for r in recordings(session_factory, archived).values())
    assert "recording.wav_purged" in audit_actions(session_factory, archived)


# The command staff run by hand


def _voxbank(settings: Any, database_url: str, *args: str) -> Any:
    import os
    import subprocess
    import sys
    from pathlib import Path

    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOXBANK_")}
    environment.update({"VOXBANK_ENVIRONMENT": "test", "VOXBANK_DATABASE_URL": database_url,
                        "VOXBANK_DATA_DIR": str(settings.resolved_data_dir),
                        "VOXBANK_AUDIO_WAV_RETENTION_S": str(DAY_S),
                        "PYTHONPATH": str(Path(__file__).resolve().parents[3])})
    return subprocess.run([sys.executable, "-m", "voxbank", *args], capture_output=True, text=True,
                          env=environment, timeout=300)


def test_purge_wav_dry_run_lists_what_would_go_and_the_command_then_deletes_it(session_factory, blobs, archived,
                                                                               settings, database_url) -> None:
    ids = {channel: r.id for channel, r in recordings(session_factory, archived).items()}
    chunks = chunk_count(session_factory, archived)

    dry = _voxbank(settings, database_url, "purge-wav", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would delete recording {ids['participant']} (interview {archived}, participant)" in dry.stdout
    assert "dry run: 2 of 2 recordings with WAV chunks would be deleted (retention 86400 s)" in dry.stdout
    assert chunk_count(session_factory, archived) == chunks

    done = _voxbank(settings, database_url, "purge-wav")
    assert done.returncode == 0, done.stderr
    assert f"deleted the WAV chunks of 2 recording(s): {chunks} chunks" in done.stdout
    assert chunk_count(session_factory, archived) == 0
    assert all(r.wav_purged_at is not None for r in recordings(session_factory, archived).values())


def test_beats_sweep_sends_a_lost_archive_message_again_and_purges(session_factory, blobs, synthetic,
                                                                   settings) -> None:
    import json

    from kombu import Connection

    from voxbank.audio_retention import run_sweep

    interview_id = add_ended_interview(session_factory, blobs, synthetic)
    transcribe(session_factory, blobs, interview_id)  # its archive message was lost: nothing sent it

    report, resent = run_sweep(settings, now=utcnow() + timedelta(hours=2))

    assert resent == [interview_id]
    assert report.purged == []  # no Opus copy yet: the WAV stays
    with Connection(settings.resolved_broker_url) as connection:
        message = connection.SimpleQueue("default").get(timeout=5)
        assert (message.headers["task"], json.loads(message.body)[0]) == ("voxbank.archive_recordings",
                                                                          [interview_id])
        message.ack()
