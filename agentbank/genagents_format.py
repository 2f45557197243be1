"""The genagents agent folder (joonspk-research/genagents): build the memory stream, write, validate.

One folder per agent::

    <agent uuid>/meta.json                   {"id": "<uuid>"}
    <agent uuid>/scratch.json                flat persona attributes (see agentbank.scratch)
    <agent uuid>/memory_stream/nodes.json    [{"node_id", "node_type", "content", "importance",
                                               "created", "last_retrieved", "pointer_id"}, ...]
    <agent uuid>/memory_stream/embeddings.json  {"<content>": [float, ...]}

Every node is an ``"observation"`` whose content is one or more exchanges, each in the exact
format of genagents' sample agent: ``"Interviewer: <question>\\n\\n<FirstName>: <answer>\\n\\n"``.
``node_id`` is the node's index, ``created`` and ``last_retrieved`` are ``node_id + 1``,
``pointer_id`` is null.

At most 120 nodes: genagents retrieves the top 120 nodes for every query, so with 120 or fewer
the agent sees its whole interview, as in the paper. Longer interviews are grouped: first all
exchanges of one scripted question block (the question and its follow-ups) become one node, then,
if still too many, all blocks of one interview module, then neighbouring nodes are merged, the
smallest pair first.

Importance (genagents asks an LLM for 0-100) is a transparent stand-in here: the node's share of
participant words, scaled so the longest node gets 100 and rounded to a multiple of 5. With 120 or
fewer nodes every node is retrieved anyway, so it changes nothing the agent sees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentbank.exchanges import Exchange

MAX_NODES = 120
NODE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "node_id": int,
    "node_type": str,
    "content": str,
    "importance": int,
    "created": int,
    "last_retrieved": int,
    "pointer_id": (type(None), list),
}


def exchange_content(question: str, answer: str, first_name: str) -> str:
    """One exchange in genagents' observation format."""
    return f"Interviewer: {question}\n\n{first_name}: {answer}\n\n"


def _merge_runs(groups: list[list[Exchange]], key: Callable[[Exchange], Hashable]) -> list[list[Exchange]]:
    merged: list[list[Exchange]] = []
    for group in groups:
        if merged and key(merged[-1][0]) == key(group[0]) and key(group[0]) is not None:
            merged[-1].extend(group)
        else:
            merged.append(list(group))
    return merged


def _words(group: Sequence[Exchange]) -> int:
    return sum(len(e.question.split()) + len(e.answer.split()) for e in group)


def group_exchanges(
    exchanges: Sequence[Exchange], module_of: Mapping[str, str] | None = None, max_nodes: int = MAX_NODES
) -> list[list[Exchange]]:
    """The exchanges in at most ``max_nodes`` groups, in interview order (see the module docstring)."""
    groups = [[e] for e in exchanges]
    if len(groups) > max_nodes:
        groups = _merge_runs(groups, key=lambda e: e.question_id)
    if len(groups) > max_nodes and module_of:
        groups = _merge_runs(groups, key=lambda e: module_of.get(e.question_id or ""))
    while len(groups) > max_nodes:
        sizes = [_words(groups[i]) + _words(groups[i + 1]) for i in range(len(groups) - 1)]
        i = sizes.index(min(sizes))
        groups[i : i + 2] = [groups[i] + groups[i + 1]]
    return groups


def importance_scores(answer_words: Sequence[int]) -> list[int]:
    """Each node's importance: its participant words over the most any node has, x100, to a multiple of 5."""
    most = max(answer_words, default=0)
    if most == 0:
        return [0 for _ in answer_words]
    return [int(5 * math.floor(20 * words / most + 0.5)) for words in answer_words]


def build_nodes(groups: Sequence[Sequence[Exchange]], first_name: str) -> list[dict[str, Any]]:
    """The nodes.json list for grouped exchanges."""
    contents = ["".join(exchange_content(e.question, e.answer, first_name) for e in group) for group in groups]
    scores = importance_scores([sum(len(e.answer.split()) for e in group) for group in groups])
    return [
        {
            "node_id": index,
            "node_type": "observation",
            "content": content,
            "importance": score,
            "created": index + 1,
            "last_retrieved": index + 1,
            "pointer_id": None,
        }
        for index, (content, score) in enumerate(zip(contents, scores, strict=True))
    ]


def write_agent(folder: Path, agent_uuid: str, scratch: Mapping[str, Any], nodes: list[dict[str, Any]],
                embeddings: Mapping[str, list[float]]) -> list[Path]:
    """Write one agent folder as genagents' ``save()`` does; returns the files written."""
    stream = folder / "memory_stream"
    stream.mkdir(parents=True, exist_ok=True)
    files = {
        folder / "meta.json": json.dumps({"id": agent_uuid}, indent=2),
        folder / "scratch.json": json.dumps(dict(scratch), indent=2),
        stream / "nodes.json": json.dumps(nodes, indent=2),
        stream / "embeddings.json": json.dumps(dict(embeddings)),
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)


def validate_agent(folder: Path, max_nodes: int = MAX_NODES, vectors: bool = True) -> list[str]:
    """Every way ``folder`` departs from the genagents format; an empty list when it conforms.

    ``vectors=False``: an export that leaves the vectors to the importer; embeddings.json must then be
    empty rather than hold every node's content.
    """
    problems: list[str] = []
    try:
        meta = json.loads((folder / "meta.json").read_text())
        scratch = json.loads((folder / "scratch.json").read_text())
        nodes = json.loads((folder / "memory_stream" / "nodes.json").read_text())
        embeddings = json.loads((folder / "memory_stream" / "embeddings.json").read_text())
    except (OSError, json.JSONDecodeError) as error:
        return [f"cannot read: {error}"]
    if not isinstance(meta, dict) or not isinstance(meta.get("id"), str):
        problems.append("meta.json: needs {\"id\": \"<uuid>\"}")
    if not isinstance(scratch, dict):
        problems.append("scratch.json: must be a JSON object")
    else:
        for key in ("first_name", "last_name"):
            if not isinstance(scratch.get(key), str):
                problems.append(f"scratch.json: {key} must be a string")
        if "age" in scratch and not isinstance(scratch["age"], int):
            problems.append("scratch.json: age must be an integer")
    if not isinstance(embeddings, dict):
        return [*problems, "embeddings.json: must be a JSON object keyed by node content"]
    if not isinstance(nodes, list):
        return [*problems, "nodes.json: must be a JSON array"]
    if len(nodes) > max_nodes:
        problems.append(f"nodes.json: {len(nodes)} nodes, more than {max_nodes}")
    dimensions = {len(vector) for vector in embeddings.values()}
    if len(dimensions) > 1:
        problems.append(f"embeddings.json: vectors of different lengths {sorted(dimensions)}")
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            problems.append(f"node {index}: not an object")
            continue
        missing = [name for name in NODE_FIELDS if name not in node]
        if missing:
            problems.append(f"node {index}: missing {', '.join(missing)}")
            continue
        for name, kind in NODE_FIELDS.items():
            value = node[name]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                problems.append(f"node {index}: {name} has type {type(value).__name__}")
        if node["node_id"] != index:
            problems.append(f"node {index}: node_id is {node['node_id']}")
        if node["node_type"] not in ("observation", "reflection"):
            problems.append(f"node {index}: node_type {node['node_type']!r}")
        if isinstance(node["importance"], int) and not 0 <= node["importance"] <= 100:
            problems.append(f"node {index}: importance {node['importance']} outside 0-100")
        if vectors and node["content"] not in embeddings:
            problems.append(f"node {index}: content is not a key of embeddings.json")
        if node["node_type"] == "observation" and node["pointer_id"] is not None:
            problems.append(f"node {index}: an observation's pointer_id must be null")
    return problems
