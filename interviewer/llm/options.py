"""How to reach the LLM: the options the wiring (``voxbank.wiring``) builds from the settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LLMOptions:
    """The configured endpoint (None: the embedded llama.cpp server), its model, key and timeout."""

    base_url: str | None
    model: str
    api_key: str | None = None
    timeout_s: float = 30.0
    embedded_port: int = 8765
    """Where the embedded server listens when ``base_url`` is None."""
