"""genagents' loading and query contract, written down from its source so a test can hold an export to it.

Read from joonspk-research/genagents at 96854071 (``genagents/genagents.py``,
``genagents/modules/memory_stream.py``, ``genagents/modules/interaction.py``,
``simulation_engine/gpt_structure.py``, ``simulation_engine/llm_json_parser.py``). This is not
genagents' code: it is what that code requires of an agent folder and does with it, step by
step, so that a folder which passes here passes there.

1. ``GenerativeAgent(folder)`` reads ``scratch.json`` (a dict), ``memory_stream/embeddings.json``
   (content -> vector) and ``memory_stream/nodes.json``; every node needs ``node_id``,
   ``node_type``, ``content``, ``importance``, ``created``, ``last_retrieved`` and ``pointer_id``
   (``ConceptNode`` reads each key, so a missing one is a KeyError).
2. A query (``categorical_resp``, ``numerical_resp``, ``utterance``) retrieves nodes for an anchor:
   the questions joined by spaces, or the rendered dialogue. The anchor is embedded with OpenAI's
   ``text-embedding-3-small`` (``openai.embeddings.create``, newlines replaced by spaces, a blank
   text refused); each node's relevance is ``numpy.dot(embeddings[node.content], query) /
   (norm * norm)``, so a node whose content is not a key raises KeyError and a vector of another
   length raises numpy's ``shapes (384,) and (1536,) not aligned``. Recency (0.99 ** (newest
   last_retrieved - last_retrieved)), importance and relevance are each min-max scaled to [0, 1]
   (all equal -> 0.5) and weighted 0, 1 and 0.5; the best 120 are kept and put back in ``created``
   order.
3. The prompt starts with the agent description: ``"Self description: " + str(scratch) +
   "\\n==\\nOther observations about the subject:\\n\\n"`` and each retrieved node's content plus
   ``"\\n"`` (only the self description when the memory is empty). It is sent as one user message to
   Chat Completions with ``model = LLM_VERS`` (``gpt-4o-mini`` in example-settings.py),
   ``max_tokens=1500`` and ``temperature=0.7``.
4. Replies are read with regular expressions: categorical ``"Response":\\s*"([^"]+)"``, numerical
   ``"Response":\\s*(\\d+\\.?\\d*)`` then ``int()``, and ``"Reasoning":\\s*"([^"]+)"``; an utterance is
   the ``"utterance"`` value of the first JSON object in the reply.

The questions are rendered as genagents does (``Q: <text>\\nOption: <python list>`` /
``Q: <text>\\nRange: [min, max]``); the task wording after the description is genagents' own
template text and is not reproduced here: a test checks the part the export controls.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
from openai import OpenAI

NODE_KEYS = ("node_id", "node_type", "content", "importance", "created", "last_retrieved", "pointer_id")
QUERY_MODEL = "text-embedding-3-small"
LLM_VERS = "gpt-4o-mini"
N_COUNT = 120
WEIGHTS = (0.0, 1.0, 0.5)  # recency, relevance, importance


@dataclass
class Node:
    node_id: int
    node_type: str
    content: str
    importance: int
    created: int
    last_retrieved: int
    pointer_id: list[int] | None


class Agent:
    """An agent folder opened as ``GenerativeAgent(folder)`` opens it, queried as genagents queries it."""

    def __init__(self, folder: Path, client: OpenAI) -> None:
        if not (folder / "scratch.json").exists():
            raise FileNotFoundError("Generative agent does not exist in the current location.")
        self.scratch: dict[str, Any] = json.loads((folder / "scratch.json").read_text())
        self.embeddings: dict[str, list[float]] = json.loads((folder / "memory_stream" / "embeddings.json").read_text())
        raw = json.loads((folder / "memory_stream" / "nodes.json").read_text())
        self.nodes = [Node(**{key: node[key] for key in NODE_KEYS}) for node in raw]
        self.client = client
        self.prompts: list[str] = []

    # -- the import step the export's README gives when it holds no vectors

    def embed_missing(self) -> int:
        """Compute the vector of each node without one, as genagents' ``get_text_embedding`` does."""
        added = 0
        for node in self.nodes:
            if node.content not in self.embeddings:
                self.embeddings[node.content] = self._embed(node.content)
                added += 1
        return added

    # -- genagents' retrieval and prompt

    def _embed(self, text: str) -> list[float]:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("Input text must be a non-empty string.")
        response = self.client.embeddings.create(input=[text.replace("\n", " ").strip()], model=QUERY_MODEL)
        return list(response.data[0].embedding)

    @staticmethod
    def _scaled(values: dict[int, float]) -> dict[int, float]:
        low, high = min(values.values()), max(values.values())
        if high == low:
            return {key: 0.5 for key in values}
        return {key: (value - low) / (high - low) for key, value in values.items()}

    def retrieve(self, anchor: str) -> list[Node]:
        if not self.nodes:
            return []
        newest = max(node.last_retrieved for node in self.nodes)
        recency = self._scaled({n.node_id: 0.99 ** (newest - n.last_retrieved) for n in self.nodes})
        importance = self._scaled({n.node_id: float(n.importance) for n in self.nodes})
        query = self._embed(anchor)
        relevance = self._scaled({
            n.node_id: float(numpy.dot(self.embeddings[n.content], query)
                             / (numpy.linalg.norm(self.embeddings[n.content]) * numpy.linalg.norm(query)))
            for n in self.nodes})
        score = {key: WEIGHTS[0] * recency[key] + WEIGHTS[1] * relevance[key] + WEIGHTS[2] * importance[key]
                 for key in recency}
        best = sorted(score, key=lambda key: score[key], reverse=True)[:N_COUNT]
        by_id = {n.node_id: n for n in self.nodes}
        return sorted((by_id[key] for key in best), key=lambda n: n.created)

    def description(self, anchor: str) -> str:
        text = f"Self description: {self.scratch}\n==\nOther observations about the subject:\n\n"
        return text + "".join(f"{node.content}\n" for node in self.retrieve(anchor))

    def _ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        response = self.client.chat.completions.create(
            model=LLM_VERS, messages=[{"role": "user", "content": prompt}], max_tokens=1500, temperature=0.7)
        return response.choices[0].message.content or ""

    def categorical_resp(self, questions: dict[str, list[str]]) -> dict[str, list[str]]:
        anchor = " ".join(questions)
        rendered = "\n\n".join(f"Q: {q}\nOption: {options}" for q, options in questions.items())
        reply = self._ask(f"{self.description(anchor)}\n=====\n\n{rendered}")
        return {"responses": re.findall(r'"Response":\s*"([^"]+)"', reply),
                "reasonings": re.findall(r'"Reasoning":\s*"([^"]+)"', reply)}

    def numerical_resp(self, questions: dict[str, list[int]]) -> dict[str, list[Any]]:
        anchor = " ".join(questions)
        rendered = "\n\n".join(f"Q: {q}\nRange: {str(bounds)}" for q, bounds in questions.items())
        reply = self._ask(f"{self.description(anchor)}\n=====\n\n{rendered}")
        return {"responses": [int(x) for x in re.findall(r'"Response":\s*(\d+\.?\d*)', reply)],
                "reasonings": re.findall(r'"Reasoning":\s*"([^"]+)"', reply)}

    def utterance(self, dialogue: list[tuple[str, str]]) -> str:
        rendered = "".join(f"[{speaker}]: {text}\n" for speaker, text in dialogue)
        rendered += f"[{self.scratch.get('first_name', '')} {self.scratch.get('last_name', '')}]: [Fill in]\n"
        reply = self._ask(f"<Background information about the Character>\n{self.description(rendered)}\n"
                          f"<End of background information about the Character>\n=====\n{rendered}")
        start = reply.index("{")
        return str(json.loads(reply[start: reply.rindex("}") + 1])["utterance"])
