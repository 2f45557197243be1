"""The voice pipeline's options: plain values the wiring (``voxbank.wiring``) builds from the settings.

Each field says what its ``VOXBANK_`` setting means; the defaults are the settings' defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VoiceOptions:
    """Turn-taking and recording, the same for every session of a process."""

    end_of_turn_s: float = 1.5
    """Silence after the participant's last word before the interviewer replies."""
    end_of_turn_max_s: float = 4.0
    """Ceiling of that silence as it adapts to the participant's own pauses."""
    pause_s: float = 0.6
    """A pause that closes one stretch of speech (transcribed while the answer goes on)."""
    max_speech_s: float = 600.0
    """Longest stretch of speech without a pause that is kept whole for Whisper."""
    barge_in_s: float = 0.8
    """Speech over the interviewer that makes it stop and listen."""
    resume_after_s: float = 2.0
    """Silence after a barge-in with no words before the interviewer goes on."""
    chunk_s: float = 5.0
    """Seconds of audio per recording chunk: a crash loses at most this much."""
    still_there_s: float = 20.0
    """Silence from the participant while the interviewer listens before it asks whether they are still there."""
    abandon_after_s: float = 1800.0
    """How long an interview may have no connected participant before it is marked abandoned."""
    decision_deadline_s: float | None = 1.5
    """Seconds the LLM has to decide a reply, from the end of the participant's speech; then the
    conductor decides without it. None: only the LLM client's own timeout."""
    speculative_decision: bool = True
    """Start deciding when the participant's speech ends (before the end-of-turn silence is over);
    the decision is dropped if they go on."""
    presynthesis: bool = True
    """Synthesise the next scripted question and the acknowledgements before they are needed."""
    acknowledge_after_s: float | None = 0.3
    """When the reply is not ready this long after the end of the turn, say a short acknowledgement
    from the guide first. None: never."""


@dataclass(frozen=True)
class LiveKitOptions:
    """A LiveKit server and its credentials; all None when the study runs without LiveKit."""

    url: str | None = None
    api_key: str | None = None
    api_secret: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.url and self.api_key and self.api_secret)
