"""How GSS categorical answers enter the correlation: ordinal items as one number, others one-hot.

Park et al. (SM section 5) map ordinal items to evenly spaced values in [0, 1] and one-hot encode
categorical items. The protocol does not mark items as ordinal, so the split is declared here:

- an item with two options is ordinal (0 and 1; one-hot would carry the same information);
- an item on one of ``ORDINAL_SCALES`` (gss_core's shared response sets whose options run in
  order), or listed in ``ORDINAL_ITEMS`` (inline responses whose options run in order), is ordinal;
- every other item is categorical. Items whose list mixes a scale with an off-scale answer
  ("I have no children", "Other party", "Lived in an institution") are categorical.

An ordinal answer's value is its option's position divided by (number of options - 1).
"""

from __future__ import annotations

from agentbank.catalogue import CatalogueItem

ORDINAL_SCALES = frozenset({
    "spend3", "confidence3", "agree4", "agree5", "likely4", "happy3", "wealth7", "school_years21", "degree5",
    "relative_income5", "better_worse5",
})
ORDINAL_ITEMS = frozenset({
    "mobile16", "vetyears", "jobfind", "satjob", "spfund", "satfin", "letin1a", "polviews", "news", "attend",
    "pray", "relpersn", "sprtprsn", "granborn", "mnthsusa", "income", "visitors", "health", "life",
})


def is_ordinal(item: CatalogueItem) -> bool:
    """Whether the item is encoded as one evenly spaced number rather than one-hot."""
    return len(item.codes) == 2 or item.scale in ORDINAL_SCALES or item.item_id in ORDINAL_ITEMS


def ordinal_value(item: CatalogueItem, code: float) -> float | None:
    """The code's evenly spaced position in [0, 1], or None for a code the item does not have."""
    codes = item.codes
    if code not in codes:
        return None
    return codes.index(int(code)) / (len(codes) - 1)
