"""The value a game decision stores in ``game_decisions.decision``: one model, written and read here.

A decision holds exactly one of three shapes, by the game's decision type:

- ``{"amount": 2}``: an amount given, sent or contributed (dictator, trust sender, public goods);
- ``{"choice": 1}``: the option code chosen (prisoner's dilemma);
- ``{"amounts": {"received_3": 1, ...}}``: an amount returned for each case (the trust receiver's strategy).

The journey builds it from a page's parsed answers (``from_answers``) and stores ``as_json()``; the
game outcomes and the agent-bank export read it back with ``from_json``, which refuses any other
shape with an error naming the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class MalformedDecision(ValueError):
    """A stored decision is not one of the three shapes."""


def _number(value: Any, what: str) -> float:
    """The number as given (an int stays an int, so the stored JSON is what the form sent)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedDecision(f"{what} must be a number, not {value!r}")
    return value


@dataclass(frozen=True)
class DecisionValue:
    """One stored game decision: an amount, a choice, or amounts by case (exactly one is set)."""

    amount: float | None = None
    choice: int | None = None
    amounts: Mapping[str, float] | None = None

    @classmethod
    def from_answers(cls, values: Mapping[str, Any]) -> DecisionValue:
        """The decision a game page's parsed answers make: its ``amount`` or ``choice`` field, else each case."""
        if "amount" in values:
            return cls(amount=_number(values["amount"], "amount"))
        if "choice" in values:
            return cls(choice=_code(values["choice"]))
        return cls(amounts={case: _number(value, case) for case, value in values.items()})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DecisionValue:
        """Read a stored decision; ``MalformedDecision`` naming the problem for any other shape."""
        keys = set(data)
        if keys == {"amount"}:
            return cls(amount=_number(data["amount"], "amount"))
        if keys == {"choice"}:
            return cls(choice=_code(data["choice"]))
        if keys == {"amounts"} and isinstance(data["amounts"], Mapping):
            amounts = data["amounts"]
            return cls(amounts={str(case): _number(value, f"amounts.{case}") for case, value in amounts.items()})
        raise MalformedDecision(f"a game decision holds one of amount, choice or amounts; found {sorted(keys)}")

    def as_json(self) -> dict[str, Any]:
        """What ``game_decisions.decision`` stores."""
        if self.amount is not None:
            return {"amount": self.amount}
        if self.choice is not None:
            return {"choice": self.choice}
        return {"amounts": dict(self.amounts or {})}


def _code(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedDecision(f"choice must be an option code (a whole number), not {value!r}")
    return value
