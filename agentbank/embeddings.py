"""Embeddings for the memory stream: vectors that match what genagents queries with, or none.

genagents embeds every query with OpenAI's ``text-embedding-3-small`` (1,536 dimensions;
``simulation_engine/gpt_structure.get_text_embedding``) and takes the cosine with each node's
stored vector, so a stored vector from any other model breaks the first query (``shapes (384,)
and (1536,) not aligned``) or, with equal lengths, silently compares unrelated spaces. Hence
``IMPORTER``, named in every manifest, and two ways to export:

- **default: no vectors.** With ``VOXBANK_EMBEDDING_BASE_URL`` unset, every ``embeddings.json``
  is ``{}`` and the importer computes the vectors with genagents' own ``get_text_embedding``, the
  function it queries with (the recipe is in the export's README). The vectors then match by
  construction, and nothing needs OpenAI at export time.
- ``VOXBANK_EMBEDDING_BASE_URL`` set: POST ``/embeddings`` on that OpenAI-compatible endpoint
  with ``VOXBANK_EMBEDDING_MODEL``, which must be the importer's model; any other is refused
  before anything is written (`check_matches_importer`).

As genagents does, newlines are replaced by spaces before a text is embedded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

BATCH = 64
IMPORTER: dict[str, Any] = {"library": "genagents (joonspk-research/genagents)", "model": "text-embedding-3-small",
                            "dimensions": 1536}


class EmbeddingMismatch(ValueError):
    """The embedding model is not the one the importer queries with; the message says what to do."""


class Embedder(Protocol):
    """Turns texts into vectors; ``describe()`` says which model, for the manifest."""

    model: str

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
        return {"vectors": "written", "kind": "openai-compatible", "base_url": self.base_url, "model": self.model,
                "dimensions": self.dimensions, "importer": dict(IMPORTER)}


def no_vectors() -> dict[str, Any]:
    """The manifest's ``embeddings`` entry of an export that leaves the vectors to the importer."""
    return {"vectors": "none", "model": None, "dimensions": None, "importer": dict(IMPORTER),
            "how": "embeddings.json is {}: compute each node's vector with genagents' get_text_embedding "
                   "before the first query (README.md)"}


def check_matches_importer(embedder: Embedder | None) -> None:
    """Refuse an embedding model other than the importer's, before anything is embedded."""
    if embedder is not None and embedder.model != IMPORTER["model"]:
        raise EmbeddingMismatch(
            f"VOXBANK_EMBEDDING_MODEL is {embedder.model!r}, but genagents queries with {IMPORTER['model']} "
            f"({IMPORTER['dimensions']} dimensions): vectors of another model cannot be compared with its queries. "
            f"Set VOXBANK_EMBEDDING_MODEL={IMPORTER['model']}, or unset VOXBANK_EMBEDDING_BASE_URL to leave the "
            "vectors to the importer")


def check_dimensions(embedder: Embedder, vectors: dict[str, list[float]]) -> None:
    """Refuse vectors whose length is not the importer's (an endpoint serving another model under the name)."""
    lengths = sorted({len(vector) for vector in vectors.values()})
    if lengths and lengths != [IMPORTER["dimensions"]]:
        raise EmbeddingMismatch(
            f"the embedding endpoint returned vectors of {', '.join(map(str, lengths))} dimensions for "
            f"{embedder.model!r}; genagents queries with {IMPORTER['model']} ({IMPORTER['dimensions']} dimensions)")


def embed_contents(embedder: Embedder | None, contents: Sequence[str]) -> dict[str, list[float]]:
    """embeddings.json: each distinct content once, keyed by the exact content string; ``{}`` with no embedder."""
    if embedder is None:
        return {}
    unique = list(dict.fromkeys(contents))
    vectors = dict(zip(unique, embedder.embed(unique), strict=True))
    check_dimensions(embedder, vectors)
    return vectors
