"""Check a restricted export against what its manifest promises and what genagents will do with it.

Every agent folder (interview agents and baselines) must be in the genagents format
(``agentbank.genagents_format.validate_agent``), and its vectors must match the manifest's
``embeddings``: the model that made them must be the importer's (the model genagents queries
with, ``embeddings.importer``), every vector as long as the importer's, and with ``vectors:
none`` every ``embeddings.json`` empty. A mismatch is refused with the model and the dimensions
named: genagents would fail on the first query (``shapes (384,) and (1536,) not aligned``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentbank.baselines import FOLDERS
from agentbank.genagents_format import validate_agent
from agentbank.manifest import MANIFEST


def _embedding_problems(embeddings: dict[str, Any]) -> list[str]:
    importer = embeddings.get("importer") or {}
    if not importer.get("model") or not importer.get("dimensions"):
        return ["manifest.json: embeddings.importer must name the importer's model and dimensions"]
    if embeddings.get("vectors") == "none":
        return []
    model, dimensions = embeddings.get("model"), embeddings.get("dimensions")
    if (model, dimensions) != (importer["model"], importer["dimensions"]):
        return [f"embeddings: the vectors were made by {model} ({dimensions} dimensions), but the importer named in "
                f"the manifest queries with {importer['model']} ({importer['dimensions']} dimensions); re-export "
                f"with {importer['model']} or without vectors"]
    return []


def _vector_problems(folder: Path, embeddings: dict[str, Any]) -> list[str]:
    path = folder / "memory_stream" / "embeddings.json"
    try:
        vectors = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []  # validate_agent reports an unreadable file
    if not isinstance(vectors, dict):
        return []
    if embeddings.get("vectors") == "none":
        return ["embeddings.json holds vectors, but the manifest says none were written"] if vectors else []
    expected = (embeddings.get("importer") or {}).get("dimensions")
    wrong = sorted({len(vector) for vector in vectors.values() if len(vector) != expected})
    return [f"embeddings.json has vectors of {', '.join(map(str, wrong))} dimensions; the importer "
            f"queries with {expected}"] if wrong else []


def validate_export(root: Path) -> list[str]:
    """Every problem with a restricted export's agent folders; an empty list when genagents can use them."""
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        return [f"{MANIFEST}: cannot read: {error}"]
    if manifest.get("tier") != "restricted":
        return []
    embeddings = manifest.get("embeddings") or {}
    problems = _embedding_problems(embeddings)
    for folder_name in FOLDERS.values():
        base = root / folder_name
        if not base.is_dir():
            continue
        for folder in sorted(path for path in base.iterdir() if path.is_dir()):
            found = validate_agent(folder, vectors=embeddings.get("vectors") != "none")
            found += _vector_problems(folder, embeddings)
            problems += [f"{folder_name}/{folder.name}: {problem}" for problem in found]
    return problems
