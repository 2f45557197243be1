"""Fixtures for the transcription tests: one synthesised interview and one Whisper model per run."""

from __future__ import annotations

import pytest

from interviewer.transcription.synthetic import SCRIPT, SyntheticInterview, synthesise_interview
from interviewer.transcription.whisper import WhisperOptions, WhisperRunner
from storage.blobs import BlobStore
from voxbank.settings import Settings


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> SyntheticInterview:
    """The known-text two-channel interview (about 47 s), synthesised once per run with Piper."""
    return synthesise_interview(SCRIPT, cache_dir=tmp_path_factory.getbasetemp() / "synthetic-audio")


@pytest.fixture(scope="session")
def whisper_runner() -> WhisperRunner:
    """The bundled tiny.en model, loaded once per run (device and compute type: auto)."""
    return WhisperRunner(WhisperOptions())


@pytest.fixture
def blobs(settings: Settings) -> BlobStore:
    return BlobStore(settings.resolved_data_dir / "blobs")
