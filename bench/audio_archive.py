"""Audio at rest: the Opus archival copy against the WAV chunks, side by side in one run.

    python -m bench.audio_archive [--turns N] [--compression-level 0.6]

A known-text two-channel interview is synthesised with Piper (cached), each channel put at the rate
voxbank records it (participant 16 kHz, interviewer 24 kHz) and stored two ways: 16-bit PCM WAV (what
the voice agent writes) and Opus in Ogg at 16 kHz, as the archive task stores its archival copy
(``recordings.archive_sha256``: each channel as Whisper hears it). Both are transcribed
with the same Whisper model. Printed: bytes per audio second of each, the extrapolation to one
participant (a two-hour interview, both channels), the WER of the Opus transcript against the WAV
transcript, and each against the script. The last line is JSON; ``size_ratio`` is Opus / WAV.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import numpy as np

from interviewer.transcription.archive import DEFAULT_COMPRESSION, decode, opus_bytes
from interviewer.transcription.audio import wav_bytes
from interviewer.transcription.merge import word_error_rate
from interviewer.transcription.synthetic import LONG_SCRIPT, synthesise_interview
from interviewer.transcription.whisper import WhisperOptions, WhisperRunner, faster_whisper_version

RECORDED_RATES = {"participant": 16000, "interviewer": 24000}
INTERVIEW_S = 2 * 3600
WHISPER_RATE = 16000


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Linear resampling (the same input reaches both sides, so its small error cancels out)."""
    if rate == target:
        return samples.astype(np.float32)
    count = int(round(len(samples) * target / rate))
    return np.interp(np.arange(count) * rate / target, np.arange(len(samples)), samples).astype(np.float32)


def transcript(runner: WhisperRunner, samples: np.ndarray, rate: int) -> str:
    run = runner.transcribe(resample(samples, rate, WHISPER_RATE))
    return " ".join(segment.text.strip() for segment in run.segments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=len(LONG_SCRIPT), help="turns of the script to synthesise")
    parser.add_argument("--compression-level", type=float, default=DEFAULT_COMPRESSION)
    parser.add_argument("--model", default="tiny.en", help="Whisper model name or folder")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "voxbank-bench")
    args = parser.parse_args()

    synthetic = synthesise_interview(LONG_SCRIPT[:args.turns], cache_dir=args.cache)
    runner = WhisperRunner(WhisperOptions(model=args.model, device="cpu", compute_type="int8"))
    channels: dict[str, dict[str, float | str]] = {}
    for channel, rate in RECORDED_RATES.items():
        source = synthetic.channels[channel].astype(np.float32)
        source = source / 32768.0 if synthetic.channels[channel].dtype == np.int16 else source
        recorded = resample(source, synthetic.sample_rate, rate)
        seconds = len(recorded) / rate
        wav = wav_bytes((np.clip(recorded, -1, 1) * 32767).astype(np.int16), rate)
        as_heard = resample(recorded, rate, WHISPER_RATE)
        opus = opus_bytes(as_heard, WHISPER_RATE, compression_level=args.compression_level)
        wav_samples, _ = decode(wav)
        opus_samples, opus_rate = decode(opus)
        wav_text = transcript(runner, wav_samples, rate)
        opus_text = transcript(runner, opus_samples, opus_rate)
        script = synthetic.text_of(channel)
        channels[channel] = {
            "seconds": round(seconds, 1), "wav_bytes_per_s": round(len(wav) / seconds),
            "opus_bytes_per_s": round(len(opus) / seconds),
            "opus_vs_wav_wer": round(word_error_rate(wav_text, opus_text) or 0.0, 4),
            "wav_vs_script_wer": round(word_error_rate(script, wav_text) or 0.0, 4),
            "opus_vs_script_wer": round(word_error_rate(script, opus_text) or 0.0, 4),
        }
        print(f"{channel:12} {rate} Hz {seconds:6.1f} s  WAV {len(wav) / seconds:8.0f} B/s  "
              f"Opus {len(opus) / seconds:6.0f} B/s  WER Opus vs WAV {channels[channel]['opus_vs_wav_wer']:.3f}")
    wav_per_participant = sum(float(c["wav_bytes_per_s"]) for c in channels.values()) * INTERVIEW_S
    opus_per_participant = sum(float(c["opus_bytes_per_s"]) for c in channels.values()) * INTERVIEW_S
    print(json.dumps({
        "bench": "audio_archive", "model": args.model, "faster_whisper": faster_whisper_version(),
        "machine": platform.machine(), "compression_level": args.compression_level, "channels": channels,
        "wav_mb_per_participant": round(wav_per_participant / 1e6, 1),
        "opus_mb_per_participant": round(opus_per_participant / 1e6, 1),
        "size_ratio": round(opus_per_participant / wav_per_participant, 4),
        "participant_opus_vs_wav_wer": channels["participant"]["opus_vs_wav_wer"],
    }))


if __name__ == "__main__":
    main()
