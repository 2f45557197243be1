"""A visit's plan: every page the participant will see, in order, fixed when the visit starts.

The plan is stored in ``Visit.plan`` so that a refresh, another tab or another device shows the same
pages in the same order: the BFI-44's per-participant item order, the games' and experiments' random
orders and the pagination are drawn once, from a seed kept with the plan.

``plan["pages"]`` is a list of pages; ``Visit.position`` is the index of the current one. A page is
``{"step": ..., "key": ...}`` plus ``items`` (instrument pages), ``game`` or ``experiment``; the last
page is always ``complete``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from survey.runtime import StudyRuntime

PLAN_FORMAT = 1
ITEMS_PER_PAGE = 10
SIMPLE_STEPS = ("consent", "mic_check", "interview")


def paginate(ids: Sequence[str], per_page: int = ITEMS_PER_PAGE) -> list[list[str]]:
    """Split ids, in order, into the fewest pages of at most ``per_page``, sizes differing by at most one.

    183 GSS items make 19 pages (twelve of 10, then seven of 9); 44 BFI items make 9, 9, 9, 9, 8.
    """
    if not ids:
        return []
    pages = math.ceil(len(ids) / per_page)
    base, extra = divmod(len(ids), pages)
    out, start = [], 0
    for n in range(pages):
        size = base + (1 if n < extra else 0)
        out.append(list(ids[start:start + size]))
        start += size
    return out


def build_plan(runtime: StudyRuntime, wave_number: int, seed: int) -> dict[str, Any]:
    """Every page of one wave for one participant, drawn from ``seed``."""
    rng = random.Random(seed)
    wave = runtime.wave(wave_number)
    pages: list[dict[str, Any]] = []
    item_orders: dict[str, list[str]] = {}
    games_order: list[str] = []
    experiments_order: list[str] = []
    for step in wave.steps:
        if step in SIMPLE_STEPS:
            pages.append({"step": step, "key": step})
        elif step == "games":
            games_order = list(runtime.games)
            if wave.games_order == "randomized":
                rng.shuffle(games_order)
            pages += [{"step": "games", "key": f"games:{g}", "game": g} for g in games_order]
        elif step == "experiments":
            experiments_order = list(runtime.experiments)
            if wave.experiments_order == "randomized":
                rng.shuffle(experiments_order)
            pages += [{"step": "experiments", "key": f"experiments:{e}", "experiment": e} for e in experiments_order]
        else:
            instrument = runtime.instrument(step)
            ids = [item.id for item in instrument.items]
            if instrument.order == "randomized":
                rng.shuffle(ids)
            item_orders[step] = ids
            chunks = paginate(ids)
            pages += [{"step": step, "key": f"{step}:{n}", "items": chunk, "part": n + 1, "parts": len(chunks)}
                      for n, chunk in enumerate(chunks)]
    pages.append({"step": "complete", "key": "complete"})
    return {
        "format": PLAN_FORMAT,
        "wave": wave_number,
        "seed": seed,
        "protocol_version": runtime.version,
        "protocol_hash": runtime.protocol_hash,
        "item_orders": item_orders,
        "games_order": games_order,
        "experiments_order": experiments_order,
        "pages": pages,
    }


def presentation_order(plan: dict[str, Any], instrument_id: str, item_id: str) -> int:
    """Where an item came in its instrument for this participant (1-based)."""
    return plan["item_orders"][instrument_id].index(item_id) + 1
