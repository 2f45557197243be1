"""Fixtures for the voice tests: the real models (loaded once), spoken answers synthesised with Piper,
the shared stand-in LLM over real HTTP (``tests/llm_stand_in.py``, via ``tests/interviewer/conftest.py``),
and a two-question guide so that a spoken interview takes seconds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from interviewer.llm.client import LLMClient
from interviewer.voice.audio_io import INPUT_RATE
from interviewer.voice.models import VoiceModels
from interviewer.voice.resample import resample
from interviewer.voice.session import VoiceRuntime
from protocols import Study, load_file, load_study
from tests.interviewer.voice.helpers import livekit_server  # noqa: F401  (fixture)
from voxbank.settings import Settings, load_settings
from voxbank.wiring import blob_store, load_voice_models, voice_options

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def voice_models() -> VoiceModels:
    """Silero, Whisper tiny.en (CPU int8 here) and the Piper joe voice, loaded once for the run."""
    return load_voice_models(load_settings(environment="test"))


@pytest.fixture(scope="session")
def speak_text(voice_models: VoiceModels):  # type: ignore[no-untyped-def]
    """``speak_text(text) -> int16 samples at 16 kHz``: Piper, a little slower than the interviewer."""
    from piper import SynthesisConfig

    from interviewer.voice.tts import load_piper_voice

    voice = load_piper_voice()
    cache: dict[str, np.ndarray] = {}

    def speak(text: str) -> np.ndarray:
        if text not in cache:
            config = SynthesisConfig(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0)
            audio = np.concatenate([chunk.audio_int16_array for chunk in voice.synthesize(text, syn_config=config)])
            cache[text] = resample(audio, voice.config.sample_rate, INPUT_RATE)
        return cache[text]

    return speak


@pytest.fixture(scope="session")
def tiny_study() -> Study:
    """The shipped study with a two-question guide ``tiny`` added and made the study's interview guide."""
    study = load_study()
    tiny = load_file(DATA / "tiny_guide.yaml", kind="interview_guide")
    spec = study.spec.model_copy(update={"interview_guide": "tiny"})
    return dataclasses.replace(study, file=dataclasses.replace(study.file, data=spec),
                               interview_guides={**study.interview_guides, "tiny": tiny})


@pytest.fixture
def runtime(llm_settings: Settings, session_factory: sessionmaker[Session], voice_models: VoiceModels,
            tiny_study: Study, llm: LLMClient) -> VoiceRuntime:
    """A voice runtime on the test's database, with the loaded models and the stand-in LLM."""
    return VoiceRuntime(options=voice_options(llm_settings), session_factory=session_factory,
                        blobs=blob_store(llm_settings), study=tiny_study,
                        models=voice_models, llm=llm)
