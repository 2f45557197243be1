"""The conductor's position, as saved in ``Interview.checkpoint`` after every turn.

Everything the conductor decides depends only on this, the guide, the recent turns and the LLM's
replies, so an interview resumed from its checkpoint goes on exactly as it would have.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CHECKPOINT_VERSION = 1

# Phases: waiting for the participant's answer, or owing a reply to the answer just recorded.
ANSWERING = "answering"
DECIDING = "deciding"
ENDED = "ended"


@dataclass
class State:
    """The checkpoint. ``position`` indexes the guide's timed questions (``len`` of them: closing).

    ``meta`` is for the caller (a pilot keeps its simulated persona there); the conductor ignores it.
    """

    position: int = 0
    phase: str = ANSWERING
    pending: str | None = None
    clock_s: float = 0.0
    seconds_used: dict[str, float] = field(default_factory=dict)
    carry_s: float = 0.0
    notes: dict[str, str] = field(default_factory=dict)
    fallbacks: int = 0
    fallback_reasons: dict[str, int] = field(default_factory=dict)
    rejected_follow_ups: dict[str, int] = field(default_factory=dict)
    followups: dict[str, int] = field(default_factory=dict)
    followup_choices: dict[str, int] = field(default_factory=dict)
    """How follow-ups were chosen: ``kind:<anchor kind>``, ``how:<ranked|llm_stable|...>`` and
    ``rejected:<reason>`` (candidates that failed a check), each counted."""
    asked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    next_seq: int = 0
    window_start_seq: int = 0
    chars_since_reflection: int = 0
    last_prompt_s: float = 0.0
    exchange_total_s: float = 0.0
    exchange_count: int = 0
    probe_index: int = 0
    generic_probes: dict[str, int] = field(default_factory=dict)
    """Generic probes asked under each question."""
    llm_signals_ignored: dict[str, int] = field(default_factory=dict)
    """Signals the LLM reported that `ConductorOptions.llm_signals` does not act on, counted."""
    max_prompt_chars: int = 0
    prompt_chars_by_question: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    version: int = CHECKPOINT_VERSION

    def to_checkpoint(self) -> dict[str, Any]:
        """The JSON document stored in ``Interview.checkpoint``."""
        return asdict(self)

    @classmethod
    def from_checkpoint(cls, data: dict[str, Any]) -> State:
        """The state saved by `to_checkpoint` (unknown keys ignored)."""
        known = {name: value for name, value in data.items() if name in cls.__dataclass_fields__}
        return cls(**known)
