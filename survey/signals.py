"""Data-quality signals recorded per page: speeding and straight-lining. Recorded, never enforced.

Prolific lets a study reject "exceptionally fast" submissions only by a documented rule, and
otherwise asks researchers to exclude rather than reject; so these are flags for staff, computed
from what the page showed and when, and stored with the page view.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from survey.fields import Field, Value

# Reading and answering a closed question takes most people well over a second; a page answered
# faster than this per item is flagged. Free text gets a floor per expected word.
MS_PER_CHOICE_ITEM = 1500
MS_PER_NUMBER_ITEM = 2500
MS_PER_TEXT_WORD = 300
# Straight-lining: at least this many answered items sharing one response scale of at least three
# options, all given the same answer.
STRAIGHTLINE_MIN_ITEMS = 5
STRAIGHTLINE_MIN_OPTIONS = 3


def expected_floor_ms(fields: Sequence[Field], values: Mapping[str, Value | None]) -> int:
    """The fastest plausible time for this page as answered."""
    floor = 0
    for f in fields:
        value = values.get(f.name)
        if value is None:
            continue
        if f.kind == "choice":
            floor += MS_PER_CHOICE_ITEM
        elif f.kind == "number":
            floor += MS_PER_NUMBER_ITEM
        else:
            floor += MS_PER_TEXT_WORD * len(str(value).split())
    return floor


def page_signals(fields: Sequence[Field], values: Mapping[str, Value | None],
                 duration_ms: int | None) -> dict[str, Any]:
    """The signals for one submitted page (JSON-ready)."""
    answered = sum(1 for f in fields if values.get(f.name) is not None)
    signals: dict[str, Any] = {"answered": answered, "skipped": len(fields) - answered}
    if duration_ms is not None and answered:
        floor = expected_floor_ms(fields, values)
        signals["ms_per_answer"] = round(duration_ms / answered)
        signals["speeding"] = duration_ms < floor
    by_scale: dict[str, list[Value]] = {}
    for f in fields:
        value = values.get(f.name)
        if f.kind == "choice" and f.scale and len(f.options) >= STRAIGHTLINE_MIN_OPTIONS and value is not None:
            by_scale.setdefault(f.scale, []).append(value)
    longest = 0
    for answers in by_scale.values():
        if len(answers) >= STRAIGHTLINE_MIN_ITEMS:
            longest = max(longest, Counter(answers).most_common(1)[0][1] if len(set(answers)) == 1 else 0)
    signals["straightlining"] = longest > 0
    return signals
