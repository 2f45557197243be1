"""scratch.json: what genagents prints as the agent's "Self description" in every prompt.

genagents renders the whole scratch dict into every prompt and uses only ``first_name`` and
``last_name`` itself (``get_fullname``). Anything else in it is handed to the agent with every
question, so an interview agent's scratch holds **only its pseudonymous name**
(`agent_scratch`): Park et al.'s interview agents knew the transcript and nothing else, and an
answer in the scratch would be scored against itself.

The paper's **demographic agent** (SM section 5) knows only five GSS answers: political
ideology, party, race, gender and age. `demographic_scratch` writes them with the labels of
genagents' 3,505 ``gss_agents`` (``age`` an int), in their key order; it is used only for the
demographic baseline agents (``agentbank.baselines``). ``DEMOGRAPHIC_ITEMS`` names the GSS items
it gives away, which `voxbank evaluate` leaves out when scoring those agents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocols import Instrument, SingleChoiceResponse

NAME_KEYS = ("first_name", "last_name")
DEMOGRAPHIC_ITEMS = ("polviews", "partyid", "race", "sex", "age")

# scratch key -> (gss item id, code -> gss_agents label); None means "the protocol's own label".
DEMOGRAPHIC_KEYS: dict[str, tuple[str, dict[int, str] | None]] = {
    "sex": ("sex", {1: "Male", 2: "Female"}),
    "race": ("race", {1: "White", 2: "Black", 3: "Other"}),
    "political_views": ("polviews", None),
    "party_identification": ("partyid", {
        0: "Strong democrat", 1: "Not very strong democrat", 2: "Independent, close to democrat",
        3: "Independent (neither, no response)", 4: "Independent, close to republican",
        5: "Not very strong republican", 6: "Strong republican", 7: "Other party",
    }),
}

# The order of genagents' gss_agents scratch keys that a demographic agent can have.
KEY_ORDER = ("first_name", "last_name", "age", "sex", "race", "political_views", "party_identification")


def agent_scratch(first_name: str, last_name: str) -> dict[str, Any]:
    """An interview (or persona) agent's scratch.json: its pseudonymous name and nothing else."""
    return {"first_name": first_name, "last_name": last_name}


def demographic_scratch(first_name: str, last_name: str, answers: Mapping[str, float],
                        gss: Instrument) -> dict[str, Any]:
    """A demographic baseline agent's scratch.json; ``answers`` maps gss_core item id to the stored code.

    Keys with no answer are left out, not written as null (a missing key says less than
    ``'race': None``).
    """
    values: dict[str, Any] = agent_scratch(first_name, last_name)
    if "age" in answers:
        values["age"] = int(round(answers["age"]))
    for key, (item_id, labels) in DEMOGRAPHIC_KEYS.items():
        if item_id not in answers:
            continue
        code = int(answers[item_id])
        label = (labels or {}).get(code)
        if label is None:
            response = gss.response_for(item_id)
            if isinstance(response, SingleChoiceResponse):
                label = response.labels().get(code)
        if label is not None:
            values[key] = label
    return {key: values[key] for key in KEY_ORDER if key in values}
