"""manifest.json: what an export holds, made from what, and the sha256 of every file in it."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = "voxbank-agentbank/1"


def sha256_file(path: Path) -> str:
    """The sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` except the manifest, keyed by POSIX path relative to root."""
    return {
        path.relative_to(root).as_posix(): sha256_file(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).as_posix() != MANIFEST
    }


def interview_provenance(interview: Any) -> dict[str, str | None]:
    """What conducted one interview: the LLM model and endpoint kind, the prompt version and the
    safety classifier's version (None on interviews from before these were recorded)."""
    return {"llm_model": interview.llm_model, "llm_endpoint": interview.llm_endpoint,
            "prompt_version": interview.prompt_version,
            "safety_classifier_version": interview.safety_classifier_version}


def provenance_counts(conducted_by: list[dict[str, str | None]]) -> list[dict[str, Any]]:
    """Each distinct provenance with how many exported interviews it conducted, most first."""
    counts = Counter(tuple(sorted(p.items(), key=lambda item: item[0])) for p in conducted_by)
    return [{**dict(key), "interviews": n} for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]


def write_manifest(root: Path, body: dict[str, Any]) -> str:
    """Write manifest.json (``body`` plus ``format`` and ``files``); returns the manifest's sha256."""
    manifest = {"format": FORMAT, **body, "files": file_checksums(root)}
    path = root / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return sha256_file(path)


def verify_manifest(root: Path) -> list[str]:
    """Every file that is missing, changed or not listed; an empty list when the export is intact."""
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    listed: dict[str, str] = manifest["files"]
    present = file_checksums(root)
    problems = [f"missing: {name}" for name in listed if name not in present]
    problems += [f"changed: {name}" for name, digest in listed.items() if name in present and present[name] != digest]
    problems += [f"not listed: {name}" for name in present if name not in listed]
    return problems
