"""Game payoffs as plain functions, in cents, and the random grouping of stored decisions.

Decisions are made one-shot and matched afterwards with other participants' stored decisions, so
nobody waits for a partner (the oTree "async one-shot" pattern):

- dictator: participants are paired at random; each gives part of their endowment to the other,
  so each earns ``endowment - given + received from the partner``;
- trust: participants are paired at random and play both roles against each other. As sender
  (game2_TF1) A sends s, which arrives multiplied; the receiver's strategy-method answer for that
  amount (game3_TF2) says how much comes back. A earns ``endowment - s + returned``; the receiver
  earns ``received - returned`` (nothing when s = 0);
- public goods: groups of ``group_size`` (four); each earns
  ``endowment - contribution + multiplier x pot / group size``;
- prisoner's dilemma: pairs; each earns their entry of the payoff table (first option cooperates).

Amounts are in dollars in the protocol and in cents here, rounded half up to the cent.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from protocols.schema import (
    AnyGame,
    ChoiceDecision,
    DictatorGame,
    PrisonersDilemmaGame,
    PublicGoodsGame,
    TrustReceiverGame,
    TrustSenderGame,
)
from storage.decisions import DecisionValue, MalformedDecision

T = TypeVar("T")
V = TypeVar("V")


def cents(dollars: float | int | Decimal) -> int:
    """Dollars to whole cents, rounding half up."""
    return int((Decimal(str(dollars)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def dictator(game: DictatorGame, given: float, received: float) -> int:
    """A dictator's earnings: what they kept plus what their partner gave them."""
    kept = Decimal(str(game.endowment)) - Decimal(str(given))
    return cents(kept + Decimal(str(received)) * Decimal(str(game.multiplier)))


def _returned(receiver: TrustReceiverGame, strategy: Mapping[str, float], received: float) -> Decimal:
    if received == 0:
        return Decimal(0)
    for case_id, amount in receiver.parameters.received.items():
        if Decimal(str(amount)) == Decimal(str(received)):
            return Decimal(str(strategy[case_id]))
    raise ValueError(f"no case of {receiver.id} receives {received}")


def trust(sender: TrustSenderGame, receiver: TrustReceiverGame, sent: float,
          strategy: Mapping[str, float]) -> tuple[int, int]:
    """(sender's earnings, receiver's earnings) when ``sent`` meets the receiver's strategy ({case_id: returned})."""
    received = Decimal(str(sent)) * Decimal(str(sender.multiplier))
    returned = _returned(receiver, strategy, float(received))
    kept = Decimal(str(sender.endowment)) - Decimal(str(sent))
    return cents(kept + returned), cents(received - returned)


def public_goods(game: PublicGoodsGame, contributions: Sequence[float]) -> list[int]:
    """Each member's earnings, in the order of ``contributions`` (one per member of a full group)."""
    if len(contributions) != game.group_size:
        raise ValueError(f"a {game.id} group has {game.group_size} members, not {len(contributions)}")
    pot = sum(Decimal(str(c)) for c in contributions) * Decimal(str(game.multiplier))
    share = pot / game.group_size
    return [cents(Decimal(str(game.endowment)) - Decimal(str(c)) + share) for c in contributions]


def prisoners_dilemma(game: PrisonersDilemmaGame, own: int, other: int) -> int:
    """One player's earnings from their choice code and the other's."""
    assert isinstance(game.decision, ChoiceDecision)
    cooperate, defect = (o.code for o in game.decision.options)
    letter = {cooperate: "c", defect: "d"}
    table = game.parameters.payoffs.model_dump()
    return cents(Decimal(str(table[letter[own] + letter[other]][0])) + Decimal(str(game.endowment)))


def groups(members: Sequence[T], size: int, rng: random.Random) -> tuple[list[list[T]], list[T]]:
    """Shuffle and cut into full groups of ``size``; return (groups, those left over to wait for more)."""
    shuffled = list(members)
    rng.shuffle(shuffled)
    full = len(shuffled) - len(shuffled) % size
    return [shuffled[i:i + size] for i in range(0, full, size)], shuffled[full:]


def decision_value(game: AnyGame, decision: Mapping[str, Any]) -> Any:
    """The number (or strategy) a stored decision holds for this game (``MalformedDecision`` if it has none)."""
    value = DecisionValue.from_json(decision)
    if isinstance(game, TrustReceiverGame):
        return {k: float(v) for k, v in _required(value.amounts, game).items()}
    if isinstance(game, PrisonersDilemmaGame):
        return _required(value.choice, game)
    return float(_required(value.amount, game))


def _required(part: V | None, game: AnyGame) -> V:
    if part is None:
        raise MalformedDecision(f"game {game.id}: the stored decision is not of the kind this game takes")
    return part
