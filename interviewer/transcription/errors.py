"""What can go wrong in a transcription job, translated at the boundary into a small hierarchy.

Each error says whether trying again could help (``retryable``). The Celery wrapper retries only
retryable errors, with backoff and jitter; every other error ends the job as ``failed`` with the
message as the recorded reason, so the message must say what is wrong and how to fix it.
"""

from __future__ import annotations


class TranscriptionError(Exception):
    """Base class: the job cannot finish. ``retryable`` says whether a later attempt might."""

    retryable = False


class AudioInputError(TranscriptionError):
    """The recorded audio is missing, corrupt, empty or not in the chunk format (not retryable)."""


class ModelUnavailable(TranscriptionError):
    """faster-whisper or the configured model is not installed here (not retryable)."""


class TransientError(TranscriptionError):
    """A passing failure (the database was briefly unreachable or locked); the job is retried."""

    retryable = True


class LeaseLost(TranscriptionError):
    """Another worker took over this job (our claim lapsed); this attempt stops without writing."""
