"""The transcription job on a real database: claimed once, stored once, failures recorded, dead workers swept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from interviewer.transcription import jobs
from interviewer.transcription.errors import TransientError
from interviewer.transcription.jobs import (
    Lease,
    claim,
    interviews_awaiting_transcription,
    request_transcription,
    run_transcription,
    sweep_lapsed_claims,
)
from interviewer.transcription.merge import speaker_turns, word_error_rate
from interviewer.transcription.synthetic import SyntheticInterview, store_interview
from interviewer.transcription.whisper import ChannelRun, RawSegment
from storage.audit import events_for
from storage.blobs import BlobStore
from storage.db import transaction
from storage.models import Interview, Participant, RecordingChunk, Transcript, Visit, utcnow
from storage.models import Study as StudyRow
from survey.withdrawal import withdraw

WER_BOUND = 0.10
"""tiny.en scores 5.6 % WER on LibriSpeech test-clean; clean synthetic speech measures about 3 % here.
The bound is under twice the published figure: loose enough for a 140-word sample (one error is 0.7
points) and for CPU kernel differences, tight enough that a lost turn (about 18 words, +12 points), a
wrong sample rate or a broken merge fails it."""


class ScriptedTranscriber:
    """Speaks the job's ``Transcriber`` interface and returns the segments it is given, one list per call."""

    def __init__(self, *results: list[RawSegment], settings: dict[str, Any] | None = None) -> None:
        self.results = list(results)
        self.calls = 0
        self.during: Any = None
        self._settings = settings or {"model": "scripted", "faster_whisper": "0.0"}

    def settings(self, **guards: Any) -> dict[str, Any]:
        return {**self._settings, "guards": guards}

    def transcribe(self, audio: np.ndarray, *, on_progress: Any = None) -> ChannelRun:
        result = self.results[self.calls % len(self.results)]
        self.calls += 1
        if self.during is not None:
            self.during()
        for segment in result:
            if on_progress is not None:
                on_progress(segment.end)
        return ChannelRun(list(result), "cpu", "int8", None)


def seg(start: float, text: str, logprob: float = -0.2) -> RawSegment:
    return RawSegment(start=start, end=start + 2.0, text=text, avg_logprob=logprob, no_speech_prob=0.01,
                      compression_ratio=1.2)


INTERVIEWER = [seg(0.5, "Where did you grow up?"), seg(9.0, "What do you remember?")]
PARTICIPANT = [seg(3.0, "In a small town in Ohio."), seg(12.0, "Mostly the summers.")]


def add_interview(factory: sessionmaker[Session], blobs: BlobStore, synthetic: SyntheticInterview,
                  **options: Any) -> int:
    with transaction(factory) as session:
        return store_interview(session, blobs, synthetic, ended_at=utcnow(), **options).id


def audit_actions(factory: sessionmaker[Session], interview_id: int) -> list[str]:
    with factory() as session:
        return [event.action for event in events_for(session, f"interview:{interview_id}")]


def interview_row(factory: sessionmaker[Session], interview_id: int) -> Interview:
    with factory() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None
        return interview


def transcripts(factory: sessionmaker[Session], interview_id: int) -> list[Transcript]:
    with factory() as session:
        return list(session.scalars(select(Transcript).where(Transcript.interview_id == interview_id)))


def test_a_transcription_is_stored_once_and_a_rerun_replaces_it_in_place(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    assert request_transcription(session_factory, interview_id, requested_by="test")
    result = run_transcription(session_factory, blobs, ScriptedTranscriber(INTERVIEWER, PARTICIPANT), interview_id,
                               token="task-1")
    assert result.outcome == "done"
    [first] = transcripts(session_factory, interview_id)
    assert first.text == ("Interviewer: Where did you grow up?\nParticipant: In a small town in Ohio.\n"
                          "Interviewer: What do you remember?\nParticipant: Mostly the summers.")
    assert (first.source, first.model, first.model_version, first.participant_words) == (
        "offline", "scripted", "0.0", 9)
    assert first.settings_hash == jobs.settings_hash(first.settings)
    # The live turns hold the whole script; these stand-in segments say far less.
    live = synthetic.text_of("participant")
    assert first.wer_vs_live == round(word_error_rate(live, "In a small town in Ohio. Mostly the summers."), 4)
    interview = interview_row(session_factory, interview_id)
    assert (interview.transcription_status, interview.transcription_error, interview.transcription_progress,
            interview.transcription_claimed_by, interview.transcription_attempts) == ("done", None, 1.0, None, 1)

    assert request_transcription(session_factory, interview_id, requested_by="test")
    again = ScriptedTranscriber(INTERVIEWER, [seg(3.0, "In a small town in Ohio, by a river.")])
    assert run_transcription(session_factory, blobs, again, interview_id, token="task-2").outcome == "done"
    [second] = transcripts(session_factory, interview_id)
    assert second.id == first.id
    assert second.participant_words == 9
    assert "by a river" in second.text
    assert audit_actions(session_factory, interview_id) == [
        "transcription.queued", "transcription.started", "transcription.completed",
        "transcription.queued", "transcription.started", "transcription.completed"]
    with session_factory() as session:
        completed = events_for(session, f"interview:{interview_id}")[-1]
    assert completed.actor == "system:transcription"
    assert completed.details["replaced"] is True
    assert completed.details["transcript_id"] == first.id
    assert completed.details["dropped_segments"] == {}


def test_a_redelivered_message_finds_the_job_done_and_does_nothing(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    request_transcription(session_factory, interview_id, requested_by="test")
    run_transcription(session_factory, blobs, ScriptedTranscriber(INTERVIEWER, PARTICIPANT), interview_id,
                      token="task-1")
    before = audit_actions(session_factory, interview_id)
    transcriber = ScriptedTranscriber(INTERVIEWER, PARTICIPANT)
    result = run_transcription(session_factory, blobs, transcriber, interview_id, token="task-1-redelivered")
    assert result.outcome == "skipped"
    assert result.detail == f"interview {interview_id} is already transcribed"
    assert transcriber.calls == 0
    assert audit_actions(session_factory, interview_id) == before
    assert len(transcripts(session_factory, interview_id)) == 1


def test_other_settings_make_another_transcript(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    for model in ("small", "large"):
        request_transcription(session_factory, interview_id, requested_by="test")
        transcriber = ScriptedTranscriber(INTERVIEWER, PARTICIPANT, settings={"model": model, "faster_whisper": "1"})
        run_transcription(session_factory, blobs, transcriber, interview_id, token=f"task-{model}")
    assert sorted(t.model for t in transcripts(session_factory, interview_id)) == ["large", "small"]


def test_hallucinations_are_dropped_and_counted(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    request_transcription(session_factory, interview_id, requested_by="test")
    noisy = [*PARTICIPANT, RawSegment(30.0, 31.0, "Thank you.", -1.5, 0.95, 1.0),
             seg(40.0, "the the the the the")]
    run_transcription(session_factory, blobs, ScriptedTranscriber(INTERVIEWER, noisy), interview_id, token="t")
    [transcript] = transcripts(session_factory, interview_id)
    assert "Thank you" not in transcript.text and "the the" not in transcript.text
    with session_factory() as session:
        completed = events_for(session, f"interview:{interview_id}")[-1]
    assert completed.details["dropped_segments"] == {"no_speech": 1, "repeated_ngram": 1}


def test_a_corrupt_chunk_is_skipped_with_a_flag_naming_its_time_and_the_rest_is_transcribed(
        session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    garbage = blobs.put(b"RIFF this is not a wave file")
    with transaction(session_factory) as session:
        chunk = session.scalars(select(RecordingChunk).join(RecordingChunk.recording)
                                .where(RecordingChunk.index == 2)
                                .where(RecordingChunk.recording.has(channel="participant",
                                                                    interview_id=interview_id))).one()
        chunk.blob_sha256, recording_id = garbage, chunk.recording_id
    chunk_count = _chunk_count(session_factory)

    request_transcription(session_factory, interview_id, requested_by="test")
    result = run_transcription(session_factory, blobs, ScriptedTranscriber(INTERVIEWER, PARTICIPANT), interview_id,
                               token="t")
    assert result.outcome == "done"
    [transcript] = transcripts(session_factory, interview_id)
    assert "Participant: In a small town in Ohio." in transcript.text
    interview = interview_row(session_factory, interview_id)
    [flag] = [f for f in interview.qa_flags if f["flag"] == "corrupt_chunk"]
    assert flag["detail"].startswith(
        "chunk 2 of the participant channel, 0:00:10-0:00:15, could not be read and was skipped: "
        f"chunk 2 of the participant channel (recording {recording_id}, blob {garbage[:12]}) "
        "is not a readable WAV file (")
    assert _chunk_count(session_factory) == chunk_count
    assert blobs.exists(garbage), "nothing is deleted: the damaged chunk stays for staff to inspect"


def test_a_channel_with_no_readable_chunk_fails_with_its_reason(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    garbage = blobs.put(b"RIFF this is not a wave file")
    with transaction(session_factory) as session:
        session.execute(update(RecordingChunk).values(blob_sha256=garbage))
    request_transcription(session_factory, interview_id, requested_by="test")
    result = run_transcription(session_factory, blobs, ScriptedTranscriber(INTERVIEWER, PARTICIPANT), interview_id,
                               token="t")
    assert result.outcome == "failed"
    assert interview_row(session_factory, interview_id).transcription_error.startswith(
        "no chunk of the interviewer channel")
    assert transcripts(session_factory, interview_id) == []


def _chunk_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count(RecordingChunk.id))) or 0)


def test_an_interview_without_audio_fails_clearly(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic, channels=[])
    request_transcription(session_factory, interview_id, requested_by="test")
    result = run_transcription(session_factory, blobs, ScriptedTranscriber([]), interview_id, token="t")
    assert (result.outcome, result.detail) == ("failed",
                                               f"interview {interview_id} has no recorded audio: it has no recordings")
    assert interview_row(session_factory, interview_id).transcription_error == result.detail


def test_a_missing_channel_is_flagged_and_other_flags_are_kept(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic, channels=["participant"],
                                 qa_flags=[{"flag": "consent_mismatch", "detail": "raised elsewhere"}])
    request_transcription(session_factory, interview_id, requested_by="test")
    run_transcription(session_factory, blobs, ScriptedTranscriber(PARTICIPANT), interview_id, token="t",
                      budget_s=7130)
    flags = interview_row(session_factory, interview_id).qa_flags
    # The stand-in segments end at 14 s of a 46 s recording: the tail is a long silence too.
    assert [flag["flag"] for flag in flags] == ["consent_mismatch", "missing_channel", "few_participant_words",
                                                "long_silence", "short_interview"]
    assert flags[1] == {"flag": "missing_channel", "detail": "no interviewer recording with audio"}


def test_only_one_claimant_wins_and_a_lapsed_claim_can_be_taken(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    request_transcription(session_factory, interview_id, requested_by="test")
    assert claim(session_factory, interview_id, "a", lease_s=60) == 1
    assert claim(session_factory, interview_id, "b", lease_s=60) is None
    assert claim(session_factory, interview_id, "a", lease_s=60) == 2  # a retry of the same task
    assert not request_transcription(session_factory, interview_id, requested_by="test")
    later = utcnow() + timedelta(seconds=61)
    assert claim(session_factory, interview_id, "b", lease_s=60, now=later) == 3
    assert interview_row(session_factory, interview_id).transcription_claimed_by == "b"


def test_the_lease_renews_until_another_worker_takes_the_job(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    request_transcription(session_factory, interview_id, requested_by="test")
    claim(session_factory, interview_id, "a", lease_s=60)
    lease = Lease(session_factory, interview_id, "a", lease_s=60)
    lease.progress = 0.25
    before = interview_row(session_factory, interview_id).transcription_claimed_until
    assert lease.renew()
    renewed = interview_row(session_factory, interview_id)
    assert renewed.transcription_claimed_until > before
    assert renewed.transcription_progress == 0.25
    _take_over(session_factory, interview_id, "b")
    assert not lease.renew()
    assert lease.lost.is_set()


def _take_over(factory: sessionmaker[Session], interview_id: int, token: str) -> None:
    with transaction(factory) as session:
        session.execute(update(Interview).where(Interview.id == interview_id)
                        .values(transcription_claimed_by=token))


def test_a_job_that_lost_its_claim_writes_nothing(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    request_transcription(session_factory, interview_id, requested_by="test")
    transcriber = ScriptedTranscriber(INTERVIEWER, PARTICIPANT)
    transcriber.during = lambda: _take_over(session_factory, interview_id, "someone-else")
    result = run_transcription(session_factory, blobs, transcriber, interview_id, token="mine")
    assert result.outcome == "skipped"
    assert transcripts(session_factory, interview_id) == []
    interview = interview_row(session_factory, interview_id)
    assert (interview.transcription_status, interview.transcription_claimed_by) == ("running", "someone-else")
    assert audit_actions(session_factory, interview_id) == ["transcription.queued", "transcription.started"]


def test_a_job_claimed_too_often_is_failed_instead_of_looping(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    request_transcription(session_factory, interview_id, requested_by="test")
    with transaction(session_factory) as session:
        session.execute(update(Interview).where(Interview.id == interview_id).values(transcription_attempts=3))
    transcriber = ScriptedTranscriber(INTERVIEWER, PARTICIPANT)
    result = run_transcription(session_factory, blobs, transcriber, interview_id, token="t", max_attempts=3)
    assert result.outcome == "failed"
    assert result.detail == ("gave up after 3 attempts: none finished (a worker killed mid-job, for example for "
                             "running out of memory, or the database unavailable); queue it again to retry")
    assert transcriber.calls == 0


def test_the_sweep_requeues_jobs_whose_worker_died(session_factory, blobs, synthetic) -> None:
    dead = add_interview(session_factory, blobs, synthetic)
    alive = add_interview(session_factory, blobs, synthetic)
    for interview_id, token in ((dead, "dead-worker"), (alive, "live-worker")):
        request_transcription(session_factory, interview_id, requested_by="test")
        claim(session_factory, interview_id, token, lease_s=60)
    later = utcnow() + timedelta(seconds=30)
    with transaction(session_factory) as session:
        session.execute(update(Interview).where(Interview.id == dead)
                        .values(transcription_claimed_until=utcnow() - timedelta(seconds=1)))
    sent: list[int] = []
    assert sweep_lapsed_claims(session_factory, sent.append, now=later) == [dead]
    assert sent == [dead]
    assert interview_row(session_factory, dead).transcription_status == "pending"
    assert interview_row(session_factory, alive).transcription_status == "running"
    with session_factory() as session:
        requeued = events_for(session, f"interview:{dead}")[-1]
    assert (requeued.action, requeued.details) == ("transcription.requeued", {
        "reason": "claim lapsed: its worker stopped renewing it", "previous_claim": "dead-worker"})
    assert sweep_lapsed_claims(session_factory, sent.append, now=later) == []
    result = run_transcription(session_factory, blobs, ScriptedTranscriber(INTERVIEWER, PARTICIPANT), dead,
                               token="successor")
    assert result.outcome == "done"
    assert interview_row(session_factory, dead).transcription_attempts == 2


def test_interviews_awaiting_transcription(session_factory, blobs, synthetic) -> None:
    ended = add_interview(session_factory, blobs, synthetic)
    with transaction(session_factory) as session:
        ongoing = store_interview(session, blobs, synthetic, ended_at=None).id
        silent = store_interview(session, blobs, synthetic, channels=[], ended_at=utcnow()).id
    requested = add_interview(session_factory, blobs, synthetic)
    request_transcription(session_factory, requested, requested_by="test")
    assert interviews_awaiting_transcription(session_factory) == [ended, requested]
    assert ongoing not in (ended, requested) and silent not in (ended, requested)


def test_an_unknown_interview_is_named(session_factory) -> None:
    with pytest.raises(LookupError, match="^there is no interview 999$"):
        request_transcription(session_factory, 999, requested_by="test")


def test_a_database_outage_is_a_transient_error(session_factory, blobs, synthetic, monkeypatch) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)

    def unavailable(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("UPDATE interviews", {}, Exception("server closed the connection"))

    monkeypatch.setattr(jobs, "claim", unavailable)
    with pytest.raises(TransientError, match=r"^the database is unavailable \(OperationalError\)$"):
        run_transcription(session_factory, blobs, ScriptedTranscriber([]), interview_id, token="t")


def test_an_unexpected_error_is_recorded_and_raised(session_factory, blobs, synthetic) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    request_transcription(session_factory, interview_id, requested_by="test")
    transcriber = ScriptedTranscriber([])
    transcriber.during = lambda: (_ for _ in ()).throw(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        run_transcription(session_factory, blobs, transcriber, interview_id, token="t")
    assert interview_row(session_factory, interview_id).transcription_error == "the job stopped on ValueError: boom"


@pytest.mark.slow
def test_the_synthetic_interview_is_transcribed_in_order_with_the_known_words(
        session_factory, blobs, synthetic, whisper_runner) -> None:
    interview_id = add_interview(session_factory, blobs, synthetic)
    request_transcription(session_factory, interview_id, requested_by="test")
    result = run_transcription(session_factory, blobs, whisper_runner, interview_id, token="t", budget_s=7130)
    assert result.outcome == "done", result.detail
    [transcript] = transcripts(session_factory, interview_id)
    turns = speaker_turns(transcript.segments)
    assert [speaker for speaker, _ in turns] == [turn.speaker for turn in synthetic.turns]
    for (_, text), turn in zip(turns, synthetic.turns, strict=True):
        assert word_error_rate(turn.text, text) < 0.25, (turn.text, text)
    assert word_error_rate(synthetic.text_of(), " ".join(text for _, text in turns)) < WER_BOUND
    assert transcript.wer_vs_live == pytest.approx(word_error_rate(synthetic.text_of("participant"),
                                                                   " ".join(t for s, t in turns
                                                                            if s == "participant")), abs=1e-4)
    assert transcript.wer_vs_live < WER_BOUND
    assert abs(transcript.participant_words - len(synthetic.text_of("participant").split())) <= 5
    assert all(segment["words"] for segment in transcript.segments)
    starts = [segment["start"] for segment in transcript.segments]
    assert starts == sorted(starts)
    assert transcript.settings["model"] == "tiny.en" and transcript.settings["language"] == "en"
    flags = [flag["flag"] for flag in interview_row(session_factory, interview_id).qa_flags]
    assert flags == ["few_participant_words", "short_interview"]


def _participant_with_interview(factory: sessionmaker[Session], blobs: BlobStore,
                                synthetic: SyntheticInterview) -> tuple[int, int]:
    """A participant whose visit holds the synthetic interview: ``(participant id, interview id)``."""
    with transaction(factory) as session:
        study = StudyRow(slug="withdrawal", title="t", protocol_version="1", protocol_hash="0" * 64)
        session.add(study)
        session.flush()
        participant = Participant(study_id=study.id, prolific_pid="a" * 24, pseudonym_id="p-1", status="active")
        session.add(participant)
        session.flush()
        visit = Visit(participant_id=participant.id, wave=1, status="started")
        session.add(visit)
        session.flush()
        interview = store_interview(session, blobs, synthetic, ended_at=utcnow(), visit_id=visit.id)
        return participant.id, interview.id


def test_a_participant_who_withdraws_while_the_job_runs_gets_no_transcript(session_factory, blobs, synthetic) -> None:
    participant_id, interview_id = _participant_with_interview(session_factory, blobs, synthetic)
    with session_factory() as session:
        hashes = set(session.scalars(select(RecordingChunk.blob_sha256)))
    assert hashes and all(blobs.exists(sha) for sha in hashes)
    request_transcription(session_factory, interview_id, requested_by="test")

    def withdraw_now() -> None:
        with transaction(session_factory) as session:
            withdraw(session, session.get(Participant, participant_id), None, blobs)

    transcriber = ScriptedTranscriber(INTERVIEWER, PARTICIPANT)
    transcriber.during = withdraw_now
    result = run_transcription(session_factory, blobs, transcriber, interview_id, token="t")
    assert (result.outcome, result.detail) == (
        "withdrawn", f"interview {interview_id}: the participant withdrew while it was transcribed; nothing was stored")
    assert transcripts(session_factory, interview_id) == []
    interview = interview_row(session_factory, interview_id)
    assert (interview.status, interview.transcription_status, interview.checkpoint, interview.qa_flags) == (
        "withdrawn", "withdrawn", {}, [])
    assert _chunk_count(session_factory) == 0
    assert [sha for sha in hashes if blobs.exists(sha)] == []
    assert [path.name for path in blobs.root.rglob("*") if path.is_file()] == []  # no Opus copy left behind
    assert "transcription.completed" not in audit_actions(session_factory, interview_id)
    # A job queued again later is not taken at all.
    assert not request_transcription(session_factory, interview_id, requested_by="test") or \
        run_transcription(session_factory, blobs, ScriptedTranscriber(INTERVIEWER, PARTICIPANT), interview_id,
                          token="later").outcome != "done"
