"""scratch.json: the persona attributes of genagents' agents, filled from the person's GSS answers.

Keys and label vocabulary are those of genagents' 3,505 ``gss_agents`` (GSS-style labels, ``age``
an int), in the same order. Each key is read from one ``gss_core`` item, wave 1 first and wave 2
when wave 1 has no answer; codes map to the gss_agents labels below (codes that the gss_agents
never use keep our protocol's label).

Keys with no answer are **left out**, not written as null: genagents renders the whole dict into
every prompt, and a missing key says less than ``'religion': None``. Always left out:
``ethnicity``, ``detailed_race`` and ``total_wealth`` (the shipped GSS core selection has no
such item) and ``street_address``, ``city`` and ``state`` (never exported: places finer than a
state identify people, and the state is not asked). ``family_structure_at_16`` comes from
``famdif16``, which only people not living with both parents answer, so it is present only for them.
``first_name`` and ``last_name`` are the agent's pseudonym.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocols import Instrument, SingleChoiceResponse

DEGREE = {0: "Less than high school", 1: "High school", 2: "Associate/junior college", 3: "Bachelor's", 4: "Graduate"}
RELIGION = {
    1: "Protestant", 2: "Catholic", 3: "Jewish", 4: "None", 5: "Other", 6: "Buddhism", 7: "Hinduism",
    8: "Other eastern religions", 9: "Muslim/Islam", 10: "Orthodox-Christian", 11: "Christian",
    12: "Native American", 13: "Inter-nondenominational",
}
YES_NO = {1: "Yes", 2: "No"}

# scratch key -> (gss item id, code -> gss_agents label); None means "the protocol's own label".
SCRATCH_ITEMS: dict[str, tuple[str, dict[int, str] | None]] = {
    "sex": ("sex", {1: "Male", 2: "Female"}),
    "race": ("race", {1: "White", 2: "Black", 3: "Other"}),
    "hispanic_origin": ("hispanic", {1: "Not Hispanic"}),
    "political_views": ("polviews", None),
    "party_identification": ("partyid", {
        0: "Strong democrat", 1: "Not very strong democrat", 2: "Independent, close to democrat",
        3: "Independent (neither, no response)", 4: "Independent, close to republican",
        5: "Not very strong republican", 6: "Strong republican", 7: "Other party",
    }),
    "residence_at_16": ("reg16", {
        0: "Foreign", 1: "New England", 2: "Middle Atlantic", 3: "East North Central", 4: "West North Central",
        5: "South Atlantic", 6: "East South Central", 7: "West South Central", 8: "Mountain", 9: "Pacific",
    }),
    "same_residence_since_16": ("mobile16", {1: "Same city", 2: "Same state, different city", 3: "Different state"}),
    "family_structure_at_16": ("famdif16", {
        1: "Parent died", 2: "Divorce, separated", 3: "Armed forces", 4: "Institution",
        5: "Other (left home before 16, e.g., for school)",
    }),
    "family_income_at_16": ("incom16", None),
    "fathers_highest_degree": ("padeg", DEGREE),
    "mothers_highest_degree": ("madeg", DEGREE),
    "mothers_work_history": ("mawrkgrw", YES_NO),
    "marital_status": ("marital", None),
    "work_status": ("wrkstat", {
        1: "Working full time", 2: "Working part time",
        3: "With a job, but not at work because of temporary illness, vacation, strike",
        4: "Unemployed, laid off, looking for work", 5: "Retired", 6: "In school", 7: "Keeping house", 8: "Other",
    }),
    "military_service_duration": ("vetyears", {
        0: "No active duty", 1: "Yes, less than 2 years", 2: "Yes, 2-4 years", 3: "Yes, more than 4 years",
    }),
    "religion": ("relig", RELIGION),
    "religion_at_16": ("relig16", RELIGION),
    "born_in_us": ("born", YES_NO),
    "us_citizenship_status": ("uscitzn", {1: "A U.S. citizen", 2: "Not a U.S. citizen"}),
    "highest_degree_received": ("degree", DEGREE),
    "speak_other_language": ("othlang", YES_NO),
}

# The order of genagents' scratch.json keys.
KEY_ORDER = (
    "first_name", "last_name", "age", "sex", "ethnicity", "race", "detailed_race", "hispanic_origin",
    "street_address", "city", "state", "political_views", "party_identification", "residence_at_16",
    "same_residence_since_16", "family_structure_at_16", "family_income_at_16", "fathers_highest_degree",
    "mothers_highest_degree", "mothers_work_history", "marital_status", "work_status",
    "military_service_duration", "religion", "religion_at_16", "born_in_us", "us_citizenship_status",
    "highest_degree_received", "speak_other_language", "total_wealth",
)


def sex_label(answers: Mapping[str, float]) -> str | None:
    """The gss_agents label of the person's ``sex`` answer (``Male``/``Female``), or None."""
    if "sex" not in answers:
        return None
    return (SCRATCH_ITEMS["sex"][1] or {}).get(int(answers["sex"]))


def build_scratch(first_name: str, last_name: str, answers: Mapping[str, float], gss: Instrument) -> dict[str, Any]:
    """scratch.json for one person; ``answers`` maps gss_core item id to the stored code or number."""
    values: dict[str, Any] = {"first_name": first_name, "last_name": last_name}
    if "age" in answers:
        values["age"] = int(round(answers["age"]))
    for key, (item_id, labels) in SCRATCH_ITEMS.items():
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
