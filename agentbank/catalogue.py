"""The instrument catalogue: every answerable item of the study, with its type, bounds and options.

One row per item of each instrument (``gss_core``, ``bfi44``, ...), one per game decision (instrument
``games``; the trust game's second mover answers one item per case, ``game3_TF2.received_3``, with
``group`` naming the game) and one per experiment outcome (instrument = the experiment id). The
same ids key the tidy response tables and a predictions file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from protocols import LikertResponse, NumberResponse, SingleChoiceResponse, Study, TextResponse
from protocols.schema import MISSING_CODES, AmountDecision, AmountsByCaseDecision, ChoiceDecision, ScaleRef

GAMES = "games"


@dataclass(frozen=True)
class CatalogueItem:
    """One answerable item. ``options`` are (code, label) pairs for single_choice, likert and choice;
    ``scale`` names the instrument's shared response set the item uses, if any."""

    instrument: str
    item_id: str
    kind: str
    text: str
    min: float | None = None
    max: float | None = None
    options: tuple[tuple[int, str], ...] = ()
    trait: str | None = None
    reverse: bool = False
    group: str | None = None
    scale: str | None = None
    source_id: str | None = None
    protocol_file: str = ""
    protocol_version: str = ""

    @property
    def codes(self) -> list[int]:
        """The substantive option codes in order (an inapplicable answer, the GSS's IAP, is not one)."""
        return [code for code, _ in self.options if code not in MISSING_CODES]

    def label(self, code: float | None) -> str | None:
        """The label of an option code, if the item has options."""
        if code is None or pd.isna(code):
            return None
        return dict(self.options).get(int(code)) if float(code).is_integer() else None


@dataclass
class Catalogue:
    """The catalogue's items, looked up by (instrument, item id)."""

    items: list[CatalogueItem]
    _index: dict[tuple[str, str], CatalogueItem] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {(item.instrument, item.item_id): item for item in self.items}

    def get(self, instrument: str, item_id: str) -> CatalogueItem | None:
        """The item, or None."""
        return self._index.get((instrument, item_id))

    def of(self, instrument: str) -> list[CatalogueItem]:
        """The items of one instrument, in order."""
        return [item for item in self.items if item.instrument == instrument]

    def to_frame(self) -> pd.DataFrame:
        """The catalogue as a table; ``options`` is a JSON list of {code, label}."""
        rows = []
        for item in self.items:
            row: dict[str, Any] = asdict(item)
            row["options"] = json.dumps([{"code": c, "label": label} for c, label in item.options])
            rows.append(row)
        return pd.DataFrame(rows, columns=list(CatalogueItem.__dataclass_fields__))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Catalogue:
        """Read back a table written by ``to_frame``."""
        items = []
        for row in frame.to_dict("records"):
            clean: dict[str, Any] = {key: (None if _missing(value) else value) for key, value in row.items()}
            clean["options"] = tuple((int(o["code"]), str(o["label"])) for o in json.loads(clean["options"] or "[]"))
            clean["reverse"] = bool(clean["reverse"])
            for key in ("text", "protocol_file", "protocol_version"):
                clean[key] = "" if clean[key] is None else str(clean[key])
            for key in ("source_id", "trait", "group", "scale"):
                clean[key] = None if clean[key] is None else str(clean[key])
            for key in ("min", "max"):
                clean[key] = None if clean[key] is None else float(clean[key])
            items.append(CatalogueItem(**clean))
        return cls(items)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def build_catalogue(study: Study) -> Catalogue:
    """The catalogue of a loaded study."""
    items: list[CatalogueItem] = []
    for name, loaded in study.instruments.items():
        instrument = loaded.data
        common: dict[str, Any] = {"protocol_file": loaded.path.name, "protocol_version": instrument.version}
        for item in instrument.items:
            response = instrument.response_for(item)
            scale = item.response.scale if isinstance(item.response, ScaleRef) else None
            items.append(_item(name, item.id, item.text, response, trait=item.trait, reverse=item.reverse,
                               scale=scale, source_id=item.source_id, **common))
    if study.games is not None:
        common = {"protocol_file": study.games.path.name, "protocol_version": study.games.data.version}
        for game in study.games.data.games:
            decision = game.decision
            if isinstance(decision, AmountDecision):
                items.append(CatalogueItem(GAMES, game.id, "amount", game.prompt, float(decision.min),
                                           float(decision.max), **common))
            elif isinstance(decision, ChoiceDecision):
                options = tuple((o.code, o.label) for o in decision.options)
                items.append(CatalogueItem(GAMES, game.id, "choice", game.prompt, float(min(o[0] for o in options)),
                                           float(max(o[0] for o in options)), options, **common))
            elif isinstance(decision, AmountsByCaseDecision):
                for case in decision.cases:
                    items.append(CatalogueItem(GAMES, f"{game.id}.{case.id}", "amount", f"{game.prompt} {case.label}",
                                               float(case.min), float(case.max), group=game.id, **common))
    if study.experiments is not None:
        common = {"protocol_file": study.experiments.path.name, "protocol_version": study.experiments.data.version}
        for experiment in study.experiments.data.experiments:
            for outcome in experiment.outcomes:
                outcome_response: Any = outcome.response  # experiments have no scales: always written out
                items.append(_item(experiment.id, outcome.id, outcome.text, outcome_response,
                                   source_id=outcome.source_id, **common))
    return Catalogue(items)


def _item(instrument: str, item_id: str, text: str, response: Any, **extra: Any) -> CatalogueItem:
    if isinstance(response, SingleChoiceResponse):
        options = tuple((o.code, o.label) for o in response.options)
        codes = [code for code, _ in options if code not in MISSING_CODES]
        return CatalogueItem(instrument, item_id, "single_choice", text, float(min(codes)), float(max(codes)),
                             options, **extra)
    if isinstance(response, LikertResponse):
        options = tuple((point, response.anchors.get(point, str(point))) for point in response.codes())
        return CatalogueItem(instrument, item_id, "likert", text, 1.0, float(response.points), options, **extra)
    if isinstance(response, NumberResponse):
        return CatalogueItem(instrument, item_id, "number", text, float(response.min), float(response.max), **extra)
    if isinstance(response, TextResponse):
        return CatalogueItem(instrument, item_id, "text", text, **extra)
    raise TypeError(f"unknown response type {type(response).__name__}")
