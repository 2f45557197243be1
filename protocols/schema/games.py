"""The ``games`` file: economic games, their decisions and payoff parameters.

Part of ``protocols.schema`` (one module per file kind); see its docstring for the conventions.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from protocols.schema.base import Currency, FileHeader, GameId, Invalid, Model, Number, Problem, Slug, Text, _Checks
from protocols.schema.responses import Option, _check_options


class AmountDecision(Model):
    """Choose an amount from `min` to `max` in steps of `step`."""

    type: Literal["amount"]
    min: Number
    max: Number
    step: Number

    @model_validator(mode="after")
    def _check(self) -> AmountDecision:
        checks = _Checks()
        if not self.min < self.max:
            checks.add(
                ("max",), f"max ({self.max}) must be greater than min ({self.min})", "swap or correct the bounds"
            )
        if not self.step > 0:
            checks.add(("step",), f"step must be greater than 0, got {self.step}", "use a positive step such as 1")
        elif self.min < self.max:
            steps = (self.max - self.min) / self.step
            if abs(steps - round(steps)) > 1e-9:
                checks.add(
                    ("step",),
                    f"step {self.step} does not divide the range {self.min}..{self.max}",
                    "choose a step that lands exactly on max",
                )
        checks.done()
        return self

    def amounts(self) -> list[int | float]:
        """Every amount that can be chosen, from min to max."""
        count = round((self.max - self.min) / self.step)
        return [self.min + k * self.step for k in range(count + 1)]


class ChoiceDecision(Model):
    """Pick one of a list of coded options."""

    type: Literal["choice"]
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> ChoiceDecision:
        checks = _Checks()
        _check_options(checks, self.options)
        checks.done()
        return self


class Case(Model):
    """One case of a strategy-method decision."""

    id: Slug
    label: Text
    min: Number
    max: Number

    @model_validator(mode="after")
    def _check(self) -> Case:
        if not self.min < self.max:
            raise Invalid(
                Problem(
                    ("max",), f"max ({self.max}) must be greater than min ({self.min})", "swap or correct the bounds"
                )
            )
        return self


class AmountsByCaseDecision(Model):
    """Strategy method: one amount for each case."""

    type: Literal["amounts_by_case"]
    cases: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> AmountsByCaseDecision:
        checks = _Checks()
        checks.unique(
            ((("cases", i, "id"), c.id) for i, c in enumerate(self.cases)), "case id", "give every case its own id"
        )
        checks.done()
        return self


Decision = Annotated[
    Annotated[AmountDecision, Tag("amount")]
    | Annotated[ChoiceDecision, Tag("choice")]
    | Annotated[AmountsByCaseDecision, Tag("amounts_by_case")],
    Discriminator(
        lambda v: (
            (v.get("type") if isinstance(v.get("type"), str) else None)
            if isinstance(v, dict)
            else getattr(v, "type", None)
        ),
        custom_error_type="decision_type",
        custom_error_message="decision needs a known type",
    ),
]


class NoParameters(Model):
    """The rule takes no parameters: `parameters: {}` (or leave it out)."""


class TrustReceiverParameters(Model):
    """The trust game's second mover: which game the sender plays, and the amount received per case."""

    sender_game: GameId
    received: dict[Slug, Number] = Field(min_length=1)


class PrisonersDilemmaPayoffs(Model):
    """[own, other] payoff by (own choice, other's choice); c = cooperate, d = defect."""

    cc: list[Number] = Field(min_length=2, max_length=2)
    cd: list[Number] = Field(min_length=2, max_length=2)
    dc: list[Number] = Field(min_length=2, max_length=2)
    dd: list[Number] = Field(min_length=2, max_length=2)


class PrisonersDilemmaParameters(Model):
    """The prisoner's dilemma payoff table."""

    payoffs: PrisonersDilemmaPayoffs


class _GameBase(Model):
    id: GameId
    name: Text
    source: Text
    roles: list[Slug] = Field(min_length=1)
    decision_role: Slug
    group_size: int = Field(ge=2)
    endowment: Number
    multiplier: Number
    decision: Decision
    instructions: Text
    prompt: Text

    decision_type: ClassVar[str] = "amount"

    @model_validator(mode="after")
    def _check_common(self) -> _GameBase:
        checks = _Checks()
        checks.unique(((("roles", i), r) for i, r in enumerate(self.roles)), "role", "list each role once")
        if self.decision_role not in self.roles:
            checks.add(
                ("decision_role",),
                f"decision_role {self.decision_role!r} is not one of the roles ({', '.join(self.roles)})",
                "name one of the roles listed under roles:",
            )
        if self.endowment < 0:
            checks.add(("endowment",), f"endowment must not be negative, got {self.endowment}", "use 0 or more")
        if not self.multiplier > 0:
            checks.add(("multiplier",), f"multiplier must be greater than 0, got {self.multiplier}", "use 1 for none")
        if self.decision.type != self.decision_type:
            rule = getattr(self, "payoff_rule", "")
            checks.add(
                ("decision", "type"),
                f"a {rule} game takes a decision of type {self.decision_type}, not {self.decision.type}",
                f"set decision.type to {self.decision_type}",
            )
        elif isinstance(self.decision, AmountDecision) and self.decision_type == "amount":
            if self.decision.min < 0 or self.decision.max > self.endowment:
                checks.add(
                    ("decision", "max"),
                    f"the amount must lie within the endowment 0..{self.endowment}, "
                    f"not {self.decision.min}..{self.decision.max}",
                    "keep decision min and max between 0 and the endowment",
                )
        checks.problems.extend(self._rule_problems())
        checks.done()
        return self

    def _rule_problems(self) -> list[Problem]:
        return []


class DictatorGame(_GameBase):
    """The dictator splits the endowment; the recipient has no say."""

    payoff_rule: Literal["dictator"]
    parameters: NoParameters = Field(default_factory=NoParameters)


class TrustSenderGame(_GameBase):
    """The trust game's first mover sends an amount, multiplied on the way."""

    payoff_rule: Literal["trust_sender"]
    parameters: NoParameters = Field(default_factory=NoParameters)


class TrustReceiverGame(_GameBase):
    """The trust game's second mover returns part of what was received, case by case."""

    payoff_rule: Literal["trust_receiver"]
    parameters: TrustReceiverParameters
    decision_type: ClassVar[str] = "amounts_by_case"

    def _rule_problems(self) -> list[Problem]:
        if not isinstance(self.decision, AmountsByCaseDecision):
            return []
        checks = _Checks()
        received = self.parameters.received
        case_ids = [c.id for c in self.decision.cases]
        for key in received:
            if key not in case_ids:
                checks.add(
                    ("parameters", "received", key),
                    f"received names case {key!r}, which is not one of the decision's cases",
                    f"use the case ids: {', '.join(case_ids)}",
                )
        for i, case in enumerate(self.decision.cases):
            if case.id not in received:
                checks.add(
                    ("decision", "cases", i, "id"),
                    f"case {case.id!r} has no amount under parameters.received",
                    f"add {case.id}: <amount received> to parameters.received",
                )
            elif case.min < 0 or case.max > received[case.id]:
                checks.add(
                    ("decision", "cases", i, "max"),
                    f"case {case.id!r} returns {case.min}..{case.max} but only {received[case.id]} is received",
                    "keep the case's min and max between 0 and the amount received",
                )
        return checks.problems


class PublicGoodsGame(_GameBase):
    """Each group member contributes to a pool that is multiplied and shared equally."""

    payoff_rule: Literal["public_goods"]
    parameters: NoParameters = Field(default_factory=NoParameters)


class PrisonersDilemmaGame(_GameBase):
    """Cooperate or defect; the first option is cooperate (c), the second defect (d)."""

    payoff_rule: Literal["prisoners_dilemma"]
    parameters: PrisonersDilemmaParameters
    decision_type: ClassVar[str] = "choice"

    def _rule_problems(self) -> list[Problem]:
        if isinstance(self.decision, ChoiceDecision) and len(self.decision.options) != 2:
            return [
                Problem(
                    ("decision", "options"),
                    f"a prisoner's dilemma has two options, not {len(self.decision.options)}",
                    "list cooperate first and defect second",
                )
            ]
        return []


PAYOFF_RULES = ("dictator", "trust_sender", "trust_receiver", "public_goods", "prisoners_dilemma")
Game = Annotated[
    Annotated[DictatorGame, Tag("dictator")]
    | Annotated[TrustSenderGame, Tag("trust_sender")]
    | Annotated[TrustReceiverGame, Tag("trust_receiver")]
    | Annotated[PublicGoodsGame, Tag("public_goods")]
    | Annotated[PrisonersDilemmaGame, Tag("prisoners_dilemma")],
    Discriminator(
        lambda v: (
            (v.get("payoff_rule") if isinstance(v.get("payoff_rule"), str) else None)
            if isinstance(v, dict)
            else getattr(v, "payoff_rule", None)
        ),
        custom_error_type="payoff_rule",
        custom_error_message="game needs a known payoff_rule",
    ),
]
AnyGame = DictatorGame | TrustSenderGame | TrustReceiverGame | PublicGoodsGame | PrisonersDilemmaGame


class GameSet(FileHeader):
    """`kind: games` — the economic games, all paid in one currency."""

    kind: Literal["games"]
    currency: Currency
    games: list[Game] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> GameSet:
        checks = _Checks()
        checks.unique(
            ((("games", i, "id"), g.id) for i, g in enumerate(self.games)), "game id", "give every game its own id"
        )
        by_id = {g.id: g for g in self.games}
        for i, game in enumerate(self.games):
            if not isinstance(game, TrustReceiverGame):
                continue
            at = ("games", i, "parameters", "sender_game")
            sender = by_id.get(game.parameters.sender_game)
            if sender is None:
                checks.add(
                    at,
                    f"sender_game {game.parameters.sender_game!r} is not a game in this file",
                    f"name one of: {', '.join(by_id)}",
                )
            elif not isinstance(sender, TrustSenderGame):
                checks.add(
                    at,
                    f"sender_game {sender.id!r} is a {sender.payoff_rule} game, not trust_sender",
                    "name the trust game's first-mover game",
                )
            elif isinstance(sender.decision, AmountDecision):
                possible = {a * sender.multiplier for a in sender.decision.amounts() if a > 0}
                given = set(game.parameters.received.values())
                if given != possible:
                    checks.add(
                        ("games", i, "parameters", "received"),
                        f"the amounts received ({', '.join(_num(v) for v in sorted(given))}) do not match what "
                        f"{sender.id} can send times {_num(sender.multiplier)} "
                        f"({', '.join(_num(v) for v in sorted(possible))})",
                        "list one case for every amount the sender can send, except 0",
                    )
        checks.done()
        return self

    def game(self, game_id: str) -> AnyGame:
        """The game with this id; KeyError if there is none."""
        for game in self.games:
            if game.id == game_id:
                return game
        raise KeyError(game_id)


def _num(value: float) -> str:
    return f"{value:g}"
