"""A visit's plan: every page the participant will see, in order, fixed when the visit starts.

The plan is stored in ``Visit.plan`` so that a refresh, another tab or another device shows the same
pages in the same order: the BFI-44's per-participant item order, the games' and experiments' random
orders and the pagination are drawn once, from a seed kept with the plan.

``plan["pages"]`` is a list of pages; ``Visit.position`` is the index of the current one. A page is
``{"step": ..., "key": ...}`` plus ``items`` (instrument pages), ``game`` or ``experiment``; the last
page is always ``complete``. ``build_plan`` returns that stored form; code reads it through the typed
``Plan`` and ``Page`` (``Plan.of(visit.plan)``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from survey.runtime import StudyRuntime

PLAN_FORMAT = 1
ITEMS_PER_PAGE = 10
SIMPLE_STEPS = ("consent", "mic_check", "interview")


@dataclass(frozen=True)
class Page:
    """One page of a plan: its step, its key (unique in the plan) and what it shows."""

    step: str
    key: str
    items: tuple[str, ...] = ()
    """An instrument page's item ids, in the order shown."""
    game: str | None = None
    experiment: str | None = None
    part: int | None = None
    parts: int | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Page:
        """Read a stored page."""
        return cls(step=str(data["step"]), key=str(data["key"]), items=tuple(data.get("items") or ()),
                   game=data.get("game"), experiment=data.get("experiment"), part=data.get("part"),
                   parts=data.get("parts"))

    def as_json(self) -> dict[str, Any]:
        """The stored form: only the keys this kind of page has."""
        out: dict[str, Any] = {"step": self.step, "key": self.key}
        if self.items:
            out.update(items=list(self.items), part=self.part, parts=self.parts)
        if self.game is not None:
            out["game"] = self.game
        if self.experiment is not None:
            out["experiment"] = self.experiment
        return out


@dataclass(frozen=True)
class Plan:
    """A visit's plan, read from ``Visit.plan``."""

    wave: int
    seed: int
    protocol_version: str
    protocol_hash: str
    item_orders: Mapping[str, Sequence[str]]
    games_order: tuple[str, ...]
    experiments_order: tuple[str, ...]
    pages: tuple[Page, ...]

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Plan:
        """Read a stored plan."""
        return cls(wave=int(data["wave"]), seed=int(data["seed"]), protocol_version=str(data["protocol_version"]),
                   protocol_hash=str(data["protocol_hash"]),
                   item_orders={k: tuple(v) for k, v in (data.get("item_orders") or {}).items()},
                   games_order=tuple(data.get("games_order") or ()),
                   experiments_order=tuple(data.get("experiments_order") or ()),
                   pages=tuple(Page.of(page) for page in data["pages"]))

    def as_json(self) -> dict[str, Any]:
        """The stored form (``Visit.plan``)."""
        return {
            "format": PLAN_FORMAT, "wave": self.wave, "seed": self.seed, "protocol_version": self.protocol_version,
            "protocol_hash": self.protocol_hash, "item_orders": {k: list(v) for k, v in self.item_orders.items()},
            "games_order": list(self.games_order), "experiments_order": list(self.experiments_order),
            "pages": [page.as_json() for page in self.pages],
        }

    @property
    def answered_pages(self) -> int:
        """How many pages the participant answers (the closing page not counted)."""
        return len(self.pages) - 1

    def presentation_order(self, instrument_id: str, item_id: str) -> int:
        """Where an item came in its instrument for this participant (1-based)."""
        return list(self.item_orders[instrument_id]).index(item_id) + 1

    def game_order(self, game_id: str) -> int:
        """Where a game came among the games (1-based)."""
        return self.games_order.index(game_id) + 1

    def part_of_step(self, position: int) -> tuple[int, int]:
        """(n, of) for the page at ``position`` among its step's pages: game 2 of 5, part 3 of 19."""
        step = self.pages[position].step
        same = [n for n, page in enumerate(self.pages) if page.step == step]
        return same.index(position) + 1, len(same)


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
    """Every page of one wave for one participant, drawn from ``seed``, in the stored form."""
    return draw_plan(runtime, wave_number, seed).as_json()


def draw_plan(runtime: StudyRuntime, wave_number: int, seed: int) -> Plan:
    """Every page of one wave for one participant, drawn from ``seed``."""
    rng = random.Random(seed)
    wave = runtime.wave(wave_number)
    pages: list[Page] = []
    item_orders: dict[str, list[str]] = {}
    games_order: list[str] = []
    experiments_order: list[str] = []
    for step in wave.steps:
        if step in SIMPLE_STEPS:
            pages.append(Page(step, step))
        elif step == "games":
            games_order = list(runtime.games)
            if wave.games_order == "randomized":
                rng.shuffle(games_order)
            pages += [Page("games", f"games:{g}", game=g) for g in games_order]
        elif step == "experiments":
            experiments_order = list(runtime.experiments)
            if wave.experiments_order == "randomized":
                rng.shuffle(experiments_order)
            pages += [Page("experiments", f"experiments:{e}", experiment=e) for e in experiments_order]
        else:
            instrument = runtime.instrument(step)
            ids = [item.id for item in instrument.items]
            if instrument.order == "randomized":
                rng.shuffle(ids)
            item_orders[step] = ids
            chunks = paginate(ids)
            pages += [Page(step, f"{step}:{n}", items=tuple(chunk), part=n + 1, parts=len(chunks))
                      for n, chunk in enumerate(chunks)]
    pages.append(Page("complete", "complete"))
    return Plan(wave=wave_number, seed=seed, protocol_version=runtime.version, protocol_hash=runtime.protocol_hash,
                item_orders=item_orders, games_order=tuple(games_order), experiments_order=tuple(experiments_order),
                pages=tuple(pages))
