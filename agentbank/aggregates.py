"""The open tier's only answers: per-item response distributions, with small cells suppressed.

One row per wave, item and answer value: ``count`` and ``share`` of the item's answers in that
wave. Free-text answers are never aggregated. Disclosure control, per (wave, item):

- a cell with fewer than ``min_cell`` people has its count and share blanked (``suppressed``);
- if exactly one cell was blanked, the smallest remaining cell is blanked too, so the blanked
  cell cannot be recovered by subtraction from the item total;
- when the item has fewer than ``min_cell`` answers in all, every cell and the total are blanked.
"""

from __future__ import annotations

import pandas as pd

from agentbank.catalogue import Catalogue

AGGREGATE_COLUMNS = ["wave", "instrument", "item_id", "value", "label", "count", "share", "item_n", "suppressed"]


def aggregate_responses(responses: pd.DataFrame, catalogue: Catalogue, min_cell: int = 5) -> pd.DataFrame:
    """The distribution of answers per wave and item from a tidy responses table (see module docstring)."""
    answered = responses[responses["value"].notna()]
    rows = []
    for (wave, instrument, item_id), group in answered.groupby(["wave", "instrument", "item_id"], sort=True):
        counts = group["value"].astype(float).value_counts().sort_index()
        total = int(counts.sum())
        suppressed = {value for value, count in counts.items() if count < min_cell}
        if total < min_cell:
            suppressed = set(counts.index)
        elif len(suppressed) == 1 and len(counts) > 1:
            remaining = counts.drop(index=list(suppressed))
            suppressed.add(remaining.sort_values(kind="stable").index[0])
        item = catalogue.get(str(instrument), str(item_id))
        for value, count in counts.items():
            hidden = value in suppressed
            rows.append({
                "wave": int(wave), "instrument": instrument, "item_id": item_id, "value": float(value),
                "label": item.label(value) if item else None,
                "count": None if hidden else int(count),
                "share": None if hidden else round(count / total, 6),
                "item_n": None if total < min_cell else total,
                "suppressed": hidden,
            })
    frame = pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)
    frame["wave"] = frame["wave"].astype("Int64")
    frame["count"] = frame["count"].astype("Int64")
    frame["item_n"] = frame["item_n"].astype("Int64")
    frame["share"] = frame["share"].astype("Float64")
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return frame
