"""Offline transcription: our job pipeline against plain faster-whisper, side by side in one run.

    python -m bench.transcribe [--runs 3] [--turns 20]

A known-text two-channel interview (a few minutes) is synthesised with Piper and stored the way the
voice agent stores recordings: WAV chunks in the blob store, rows in a SQLite database. Then, with
one loaded model:

* ours: ``run_transcription`` end to end: chunks read and assembled, both channels transcribed with
  our settings (the batched pipeline on CUDA, sequential on CPU), guards, merge, WER against the live
  turns, QA flags and the transcript stored in the database: what the ``gpu`` queue's worker does;
* archive: the Opus copy of both channels (``retention.archive_recordings``), the task the
  ``default`` (CPU) queue runs after the transcript is stored; timed on its own, outside "ours";
* plain: ``faster_whisper.WhisperModel.transcribe`` on each channel's whole WAV file with the same
  decoding options, segments merged by start time.

Each side runs ``--runs`` times, alternating, and the fastest run counts (faster-whisper's own
benchmark protocol). Throughput is audio seconds (both channels) per wall second; the CPU seconds of
each side are printed too, as a check when other work shares the machine (``cpu_ratio``: ours / plain).
WER is measured against the known script. The last line printed is JSON; ``throughput_ratio`` is
ours / plain, and the target is at least 0.9 (the pipeline's own work must cost under a tenth of decoding).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from interviewer.transcription.audio import wav_bytes
from interviewer.transcription.jobs import request_transcription, run_transcription
from interviewer.transcription.merge import speaker_turns, word_error_rate
from interviewer.transcription.retention import archive_recordings
from interviewer.transcription.synthetic import LONG_SCRIPT, SyntheticInterview, store_interview, synthesise_interview
from interviewer.transcription.whisper import DECODE_OPTIONS, WhisperOptions, WhisperRunner, faster_whisper_version
from storage import migrate
from storage.blobs import BlobStore
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Recording, Transcript

TARGET_RATIO = 0.9


def plain_run(model: Any, channel_files: dict[str, Path]) -> tuple[float, float, str]:
    """Plain faster-whisper over each channel's WAV file: (wall s, CPU s, text merged by start time)."""
    started, cpu = time.perf_counter(), time.process_time()
    segments: list[tuple[float, str]] = []
    for path in channel_files.values():
        generator, _info = model.transcribe(str(path), **DECODE_OPTIONS)
        segments.extend((segment.start, segment.text.strip()) for segment in generator)
    elapsed = time.perf_counter() - started
    return elapsed, time.process_time() - cpu, " ".join(text for _, text in sorted(segments))


def our_run(factory: Any, blobs: BlobStore, runner: WhisperRunner, interview_id: int) -> tuple[float, float, str]:
    """Our whole job, from chunks in the blob store to the stored transcript: (wall s, CPU s, text)."""
    request_transcription(factory, interview_id, requested_by="bench")
    started, cpu = time.perf_counter(), time.process_time()
    result = run_transcription(factory, blobs, runner, interview_id, token=f"bench-{time.time_ns()}")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if result.outcome != "done":
        raise SystemExit(f"our pipeline did not finish: {result.detail}")
    with factory() as session:
        transcript = session.query(Transcript).filter_by(interview_id=interview_id).one()
        text = " ".join(text for _, text in speaker_turns(transcript.segments))
    return elapsed, cpu, text


def archive_run(factory: Any, blobs: BlobStore, interview_id: int) -> tuple[float, float, int]:
    """The archive task on a transcribed interview, from no copy to both stored: (wall s, CPU s, bytes)."""
    with transaction(factory) as session:
        session.query(Recording).filter_by(interview_id=interview_id).update({Recording.archive_sha256: None})
    started, cpu = time.perf_counter(), time.process_time()
    result = archive_recordings(factory, blobs, interview_id)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if len(result.archived) != 2:
        raise SystemExit(f"the archive task stored {sorted(result.archived)}, not both channels: {result.skipped}")
    return elapsed, cpu, sum(result.archived.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per side; the fastest counts")
    parser.add_argument("--turns", type=int, default=len(LONG_SCRIPT), help="turns of the script to synthesise")
    parser.add_argument("--model", default="tiny.en", help="model name or folder (as VOXBANK_STT_MODEL)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--compute-type", default="auto")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "voxbank-bench",
                        help="where the synthesised audio is kept between runs")
    args = parser.parse_args()

    script = LONG_SCRIPT[:args.turns]
    with tqdm(total=len(script), desc="synthesising", unit="turn") as bar:
        synthetic: SyntheticInterview = synthesise_interview(
            script, cache_dir=args.cache, on_turn=lambda done, total: bar.update(done - bar.n))
        bar.update(len(script) - bar.n)

    with tempfile.TemporaryDirectory(prefix="voxbank-bench-") as folder:
        root = Path(folder)
        url = f"sqlite:///{root / 'voxbank.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        blobs = BlobStore(root / "blobs")
        with transaction(factory) as session:
            interview_id = store_interview(session, blobs, synthetic, guide_id="bench").id
        channel_files = {}
        for name, samples in synthetic.channels.items():
            channel_files[name] = root / f"{name}.wav"
            channel_files[name].write_bytes(wav_bytes(samples, synthetic.sample_rate))

        runner = WhisperRunner(WhisperOptions(model=args.model, device=args.device,
                                              compute_type=args.compute_type, batch_size=args.batch_size))
        plain_model = runner._model  # the very same loaded model: only the pipelines differ
        # Warm both paths once (first-call allocations), on a single channel, outside the timing.
        plain_model.transcribe(str(channel_files["interviewer"]), **DECODE_OPTIONS)[0].__iter__().__next__()

        ours: list[float] = []
        plain: list[float] = []
        archive: list[float] = []
        cpu: dict[str, list[float]] = {"ours": [], "plain": [], "archive": []}
        texts: dict[str, str] = {}
        for _ in tqdm(range(args.runs), desc="transcribing (ours, plain)", unit="run"):
            seconds, cpu_s, texts["ours"] = our_run(factory, blobs, runner, interview_id)
            ours.append(seconds)
            cpu["ours"].append(cpu_s)
            seconds, cpu_s, archive_bytes = archive_run(factory, blobs, interview_id)
            archive.append(seconds)
            cpu["archive"].append(cpu_s)
            seconds, cpu_s, texts["plain"] = plain_run(plain_model, channel_files)
            plain.append(seconds)
            cpu["plain"].append(cpu_s)
        engine.dispose()

    audio_s = synthetic.duration_s * len(synthetic.channels)
    known = synthetic.text_of()
    figures = {
        "bench": "transcribe",
        "model": args.model,
        "faster_whisper": faster_whisper_version(),
        "device": runner.device,
        "compute_type": runner.compute_type,
        "pipeline_ours": "batched" if runner.batched else "sequential",
        "pipeline_plain": "sequential",
        "cpu": platform.processor() or platform.machine(),
        "audio_s": round(audio_s, 2),
        "runs": args.runs,
        "ours_s": round(min(ours), 3),
        "plain_s": round(min(plain), 3),
        "throughput_ours": round(audio_s / min(ours), 2),
        "throughput_plain": round(audio_s / min(plain), 2),
        "throughput_ratio": round(min(plain) / min(ours), 3),
        # CPU seconds of this process: less disturbed than wall time when other work shares the machine.
        "cpu_s_ours": round(min(cpu["ours"]), 3),
        "cpu_s_plain": round(min(cpu["plain"]), 3),
        "cpu_ratio": round(min(cpu["ours"]) / min(cpu["plain"]), 3),
        # The Opus copy, encoded by its own task on the CPU queue (not part of "ours" since it moved there).
        "archive_s": round(min(archive), 3),
        "cpu_s_archive": round(min(cpu["archive"]), 3),
        "archive_bytes": archive_bytes,
        "target_ratio": TARGET_RATIO,
        "wer_ours": round(word_error_rate(known, texts["ours"]) or 0.0, 4),
        "wer_plain": round(word_error_rate(known, texts["plain"]) or 0.0, 4),
        "words": len(known.split()),
    }
    figures["meets_target"] = figures["throughput_ratio"] >= TARGET_RATIO
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
