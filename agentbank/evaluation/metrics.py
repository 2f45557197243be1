"""The metrics of Park et al. 2024 (SM section 5), as plain functions of one person's answers.

Answers are mappings from item id to the stored value (option code, likert point, number or game
amount). Definitions:

- **accuracy**: the share of items whose predicted answer equals the actual one. An item without a
  prediction counts as wrong.
- **normalised** (accuracy or correlation): the agent's value divided by the person's own
  test-retest value (wave 2 against wave 1); NaN when the latter is 0 or missing.
- **one-hot correlation** (GSS categorical items): every item weighs 1 in a weighted Pearson
  correlation. Ordinal items (``agentbank.evaluation.encoding``) become one variable, their
  option's evenly spaced position in [0, 1], weight 1; other items become one 0/1 variable per
  option, each of weight **1/k** for k options. DISCREPANCY: the SM's worked example gives 0.25
  per option for a five-option item, which contradicts its own rule that the one-hot weights sum
  to the item's weight (5 x 0.25 = 1.25); we follow the rule, 1/k. Items without a prediction
  are left out of the agent's correlation (they still count as wrong for accuracy).
- **Fisher z averaging**: r -> z = atanh(r) = 1/2 ln((1 + r)/(1 - r)), average z, back with tanh.
  r = +/-1 exactly (common for five game values) would give an infinite z, so r is clipped to
  +/-(1 - 1e-6) first; undefined correlations (a constant vector) are NaN and left out.
- **normalised MAE** (GSS numerical items): |predicted - actual| / (item max - item min), the
  bounds from the protocol, averaged over items; their **correlation** is Pearson's r over the
  items with each scaled to [0, 1] the same way (Park et al. report r for the numerical items).
- **BFI**: each trait's score is the mean of its items, reverse-keyed items as (min + max) - x, on
  the 1-5 scale; MAE over the five traits (not normalised) and Pearson r across them.
- **games**: each decision normalised to 0-1 by the offered min and max (the prisoner's dilemma's
  two codes become 0 and 1); the trust game's second mover, asked per case, is the mean of its
  normalised cases, so every game is one value; MAE and Pearson r across the games.
- **DPD** (demographic parity difference): the best subgroup's mean of a metric minus the worst's,
  over subgroups of at least a minimum size (``report.MIN_GROUP``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from agentbank.catalogue import CatalogueItem
from agentbank.evaluation.encoding import is_ordinal, ordinal_value
from protocols import scoring
from protocols.scoring import KeyedItem

NAN = float("nan")
R_CLIP = 1 - 1e-6


def _present(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def accuracy(predicted: Mapping[str, float], actual: Mapping[str, float], items: Iterable[str]) -> float:
    """The share of ``items`` where ``predicted`` equals ``actual``; a missing prediction is wrong."""
    items = list(items)
    if not items:
        return NAN
    right = sum(1 for item in items if _present(predicted.get(item)) and predicted[item] == actual[item])
    return right / len(items)


def normalised(agent: float, retest: float) -> float:
    """``agent / retest``, NaN when either is missing or ``retest`` is 0."""
    if not (_present(agent) and _present(retest)) or retest == 0:
        return NAN
    return agent / retest


def weighted_pearson(x: Sequence[float], y: Sequence[float], w: Sequence[float]) -> float:
    """Pearson's r of ``x`` and ``y`` with weights ``w``; pairs with a NaN are dropped; NaN if undefined."""
    triples = [(a, b, c) for a, b, c in zip(x, y, w, strict=True) if _present(a) and _present(b)]
    total = sum(c for _, _, c in triples)
    if len(triples) < 2 or total <= 0:
        return NAN
    mean_x = sum(c * a for a, _, c in triples) / total
    mean_y = sum(c * b for _, b, c in triples) / total
    cov = sum(c * (a - mean_x) * (b - mean_y) for a, b, c in triples) / total
    var_x = sum(c * (a - mean_x) ** 2 for a, _, c in triples) / total
    var_y = sum(c * (b - mean_y) ** 2 for _, b, c in triples) / total
    if var_x <= 1e-15 or var_y <= 1e-15:
        return NAN
    return cov / math.sqrt(var_x * var_y)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Unweighted Pearson's r; NaN if undefined."""
    return weighted_pearson(x, y, [1.0] * len(x))


def encode(answers: Mapping[str, float], items: Sequence[CatalogueItem]) -> tuple[list[float], list[float]]:
    """Values and weights of the one-hot encoding (module docstring); a missing answer gives NaNs."""
    values: list[float] = []
    weights: list[float] = []
    for item in items:
        answer = answers.get(item.item_id)
        if is_ordinal(item):
            position = ordinal_value(item, float(answer)) if answer is not None and _present(answer) else None
            values.append(NAN if position is None else position)
            weights.append(1.0)
            continue
        k = len(item.codes)
        for code in item.codes:
            values.append(NAN if not _present(answer) else (1.0 if answer == code else 0.0))
            weights.append(1.0 / k)
    return values, weights


def one_hot_correlation(a: Mapping[str, float], b: Mapping[str, float], items: Sequence[CatalogueItem]) -> float:
    """The weighted correlation of two people's (or a person's and an agent's) categorical answers."""
    items = [item for item in items if _present(a.get(item.item_id)) and _present(b.get(item.item_id))]
    x, weights = encode(a, items)
    y, _ = encode(b, items)
    return weighted_pearson(x, y, weights)


def fisher_z_mean(values: Iterable[float]) -> float:
    """The Fisher-z average of correlations (NaNs left out); NaN when there are none."""
    zs = [math.atanh(max(-R_CLIP, min(R_CLIP, r))) for r in values if _present(r)]
    if not zs:
        return NAN
    return math.tanh(sum(zs) / len(zs))


def normalised_mae(predicted: Mapping[str, float], actual: Mapping[str, float],
                   items: Sequence[CatalogueItem]) -> float:
    """Mean of |predicted - actual| / (max - min) over items answered in both; NaN if none."""
    errors = [
        abs(predicted[item.item_id] - actual[item.item_id]) / (float(item.max) - float(item.min))  # type: ignore[arg-type]
        for item in items
        if _present(predicted.get(item.item_id)) and _present(actual.get(item.item_id))
    ]
    return sum(errors) / len(errors) if errors else NAN


def range_correlation(predicted: Mapping[str, float], actual: Mapping[str, float],
                      items: Sequence[CatalogueItem]) -> float:
    """Pearson's r over the numeric items answered in both, each scaled to [0, 1] by its protocol range."""
    pairs = [((predicted[i.item_id] - float(i.min)) / (float(i.max) - float(i.min)),  # type: ignore[arg-type]
              (actual[i.item_id] - float(i.min)) / (float(i.max) - float(i.min)))  # type: ignore[arg-type]
             for i in items if _present(predicted.get(i.item_id)) and _present(actual.get(i.item_id))]
    return pearson([p for p, _ in pairs], [a for _, a in pairs])


def mae(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Mean absolute difference over the keys present in both; NaN if none."""
    keys = [key for key in a if key in b and _present(a[key]) and _present(b[key])]
    return sum(abs(a[key] - b[key]) for key in keys) / len(keys) if keys else NAN


def paired_pearson(a: Mapping[str, float], b: Mapping[str, float], keys: Sequence[str]) -> float:
    """Pearson's r of ``a`` and ``b`` over ``keys`` (pairs with a missing side dropped)."""
    return pearson([a.get(key, NAN) for key in keys], [b.get(key, NAN) for key in keys])


def trait_scores(answers: Mapping[str, float], items: Sequence[CatalogueItem]) -> dict[str, float]:
    """Each trait's mean item score, reverse-keyed items as (min + max) - x; traits with no answer left out
    (``protocols.scoring``, the scorer the survey uses too)."""
    keyed = [KeyedItem(item.item_id, item.trait, item.reverse, float(item.min), float(item.max))
             for item in items if item.trait is not None and item.min is not None and item.max is not None]
    return {trait: score for trait, score in scoring.trait_scores(keyed, answers).items() if score is not None}


def game_scores(answers: Mapping[str, float], items: Sequence[CatalogueItem]) -> dict[str, float]:
    """Each game's decision normalised to 0-1 by the offered min and max; per-case games averaged."""
    parts: dict[str, list[float]] = {}
    for item in items:
        value = answers.get(item.item_id)
        if not _present(value):
            continue
        assert value is not None and item.min is not None and item.max is not None
        parts.setdefault(item.group or item.item_id, []).append((value - item.min) / (item.max - item.min))
    return {game: sum(values) / len(values) for game, values in parts.items()}


def demographic_parity_difference(group_means: Mapping[str, float]) -> tuple[str, str, float]:
    """(best group, worst group, best minus worst) over groups with a defined mean."""
    defined = {group: value for group, value in group_means.items() if _present(value)}
    if not defined:
        return "", "", NAN
    best = max(defined, key=lambda group: defined[group])
    worst = min(defined, key=lambda group: defined[group])
    return best, worst, defined[best] - defined[worst]
