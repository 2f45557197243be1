"""The conductor's configurable behaviour, built from `voxbank.settings` by `voxbank.wiring`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConductorOptions:
    """How the conductor chooses follow-ups.

    ``follow_up_choice_orders``: how many orders the LLM is shown the best few grounded follow-ups in
    to choose one (0: the ranking alone decides). Its pick counts only when it is the same in every
    order, so a position-biased model never overrules the ranking; each order is one LLM call.

    ``llm_signals``: the safety signals (``distress``, ``stop``, ``refusal``) the LLM's decision may
    add when the classifier heard none. Distress and stop cost only an offer the participant can
    decline; a refusal skips the rest of the question, so a model whose refusals are noise (the
    embedded Gemma 3 270M) is not given it. An LLM signal never overrules the classifier's.
    """

    follow_up_choice_orders: int = 0
    llm_signals: frozenset[str] = frozenset({"distress", "stop", "refusal"})

    def __post_init__(self) -> None:
        if self.follow_up_choice_orders == 1 or self.follow_up_choice_orders < 0:
            raise ValueError(f"follow_up_choice_orders is {self.follow_up_choice_orders}: use 0 (the ranking "
                             f"decides) or 2 or more (a pick must be stable across that many orders)")
