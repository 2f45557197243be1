"""The paper's comparison agents, written beside the interview agents when an export asks for them.

Park et al. (SM section 5) compare interview agents with two baselines built from the same people:

- **demographic agents** (``baselines/demographic_agents/<uuid>/``): know five GSS answers
  (political ideology, party, race, gender, age) and nothing else; the scratch holds them
  (``agentbank.scratch.demographic_scratch``), the memory stream is empty, as in genagents'
  own ``gss_agents``.
- **persona agents** (``baselines/persona_agents/<uuid>/``): know the paragraph the person wrote
  to describe themselves (instrument ``self_description``), scrubbed like the transcript, as one
  observation node; the scratch holds only the name.

Each is a genagents folder with the interview agent's uuid and pseudonym, so one predictions file
layout serves all three. ``AGENT_INPUTS`` says what each kind was given, for the manifest and for
`voxbank evaluate`, which leaves out of the score any GSS item an agent was given.
"""

from __future__ import annotations

from typing import Any

from agentbank.scratch import DEMOGRAPHIC_ITEMS, KEY_ORDER, NAME_KEYS

BASELINES = ("demographic", "persona")
AGENT_KINDS = ("interview", *BASELINES)
FOLDERS = {"interview": "agents", "demographic": "baselines/demographic_agents",
           "persona": "baselines/persona_agents"}
SELF_DESCRIPTION = "self_description"

AGENT_INPUTS: dict[str, dict[str, Any]] = {
    "interview": {"folder": FOLDERS["interview"], "scratch": list(NAME_KEYS),
                  "memory": "the interview transcript (scrubbed)", "gss_items": []},
    "demographic": {"folder": FOLDERS["demographic"], "scratch": list(KEY_ORDER), "memory": "none",
                    "gss_items": list(DEMOGRAPHIC_ITEMS)},
    "persona": {"folder": FOLDERS["persona"], "scratch": list(NAME_KEYS),
                "memory": "the self-description paragraph (scrubbed)", "gss_items": []},
}


class UnknownBaseline(ValueError):
    """A baseline name that is not one of ``BASELINES``."""


def check_baselines(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The requested baselines in a fixed order; an unknown name is an error naming the choices."""
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise UnknownBaseline(f"unknown baseline {unknown[0]!r}; choose from {', '.join(BASELINES)}")
    return tuple(name for name in BASELINES if name in names)


def input_items(kind: str, manifest: dict[str, Any] | None = None) -> list[str]:
    """The GSS items agents of ``kind`` were given as input: from the export's manifest when there is one."""
    if kind not in AGENT_KINDS:
        raise UnknownBaseline(f"unknown agent kind {kind!r}; choose from {', '.join(AGENT_KINDS)}")
    recorded = (manifest or {}).get("agent_inputs", {}).get(kind)
    source = recorded if recorded is not None else AGENT_INPUTS[kind]
    return list(source.get("gss_items", []))
