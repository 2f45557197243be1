"""Experiment replication (Park et al. 2024, MAIN Table 1): effect size and p-value per experiment, for
the humans in each wave and for the agents, and how well the agents' effect sizes track the humans'.

Each experiment's test is the one its protocol file names (``analysis``); every effect size is on
Cohen's d scale so that experiments can be set side by side and correlated:

- ``t_test``: Student's two-sample t-test of the outcome between the two conditions (in protocol
  order: first minus second); d = mean difference / pooled sd.
- ``chi_square``: the share choosing the outcome's first option (code 1: "blame Dave", "give the
  free sample") in each condition, Pearson's chi-square on the 2 x 2 table without continuity
  correction; d = 2 phi / sqrt(1 - phi^2) from phi = sqrt(chi2 / n), signed by the first
  condition's share minus the second's.
- ``anova_interaction``: the interaction of two two-level factors in a least-squares ANOVA (the
  full cell-means model against the additive one, F with 1 and n - 4 degrees of freedom);
  d = 2 f, Cohen's f = sqrt(partial eta^2 / (1 - partial eta^2)), signed by the interaction
  contrast (first-first - first-second - second-first + second-second cell means).

Humans: each wave's outcome answers under the condition the person saw in that wave. Agents: the
predicted outcome for each person, under the condition that person saw in wave 1. The
correlation of effect sizes is Pearson's r across experiments (agents against wave-1 humans;
wave 2 against wave 1 is the humans' own consistency).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy
import pandas as pd
from scipy import stats

from agentbank.evaluation.metrics import pearson

NAN = float("nan")
SOURCES = ("human_wave1", "human_wave2", "agents")
COLUMNS = ["experiment_id", "test", "source", "n", "effect_size", "statistic", "p_value"]


@dataclass(frozen=True)
class Design:
    """What the analysis of one experiment needs from its protocol entry."""

    experiment_id: str
    test: str
    outcome: str
    levels: dict[str, tuple[str, ...]]
    """condition id -> its level of each factor (one factor, ``condition``, for two-group tests)."""
    factors: tuple[str, ...]


def designs(protocol: object) -> list[Design]:
    """One design per experiment of a loaded study (``protocols.Study``)."""
    experiments = getattr(protocol, "experiments", None)
    if experiments is None:
        return []
    out = []
    for experiment in experiments.data.experiments:
        analysis = experiment.analysis
        if analysis.test == "anova_interaction":
            factors = tuple(analysis.factors or ())
            levels = {c.id: tuple((c.factors or {})[f] for f in factors) for c in experiment.conditions}
        else:
            factors = ("condition",)
            levels = {c.id: (c.id,) for c in experiment.conditions}
        out.append(Design(experiment.id, analysis.test, analysis.outcome, levels, factors))
    return out


@dataclass(frozen=True)
class Result:
    """One test's outcome."""

    n: int
    effect_size: float
    statistic: float
    p_value: float


def _ordered_levels(design: Design, index: int) -> list[str]:
    return list(dict.fromkeys(levels[index] for levels in design.levels.values()))


def t_test(first: Sequence[float], second: Sequence[float]) -> Result:
    """Student's t-test and Cohen's d (pooled sd) of ``first`` minus ``second``."""
    n1, n2 = len(first), len(second)
    if n1 < 2 or n2 < 2:
        return Result(n1 + n2, NAN, NAN, NAN)
    m1, m2 = sum(first) / n1, sum(second) / n2
    v1 = sum((x - m1) ** 2 for x in first) / (n1 - 1)
    v2 = sum((x - m2) ** 2 for x in second) / (n2 - 1)
    pooled = math.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
    if pooled == 0:
        return Result(n1 + n2, NAN, NAN, NAN)
    test = stats.ttest_ind(first, second, equal_var=True)
    return Result(n1 + n2, (m1 - m2) / pooled, float(test.statistic), float(test.pvalue))


def chi_square(first: Sequence[bool], second: Sequence[bool]) -> Result:
    """Pearson's chi-square (no continuity correction) on a 2 x 2 table, and d from phi, signed."""
    n1, n2 = len(first), len(second)
    table = [[sum(first), n1 - sum(first)], [sum(second), n2 - sum(second)]]
    n = n1 + n2
    if n1 == 0 or n2 == 0 or any(sum(column) == 0 for column in zip(*table, strict=True)):
        return Result(n, NAN, NAN, NAN)
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    phi = math.sqrt(chi2 / n)
    sign = 1.0 if table[0][0] / n1 >= table[1][0] / n2 else -1.0
    d = sign * (2 * phi / math.sqrt(1 - phi * phi)) if phi < 1 else sign * math.inf
    return Result(n, d, float(chi2), float(p))


def anova_interaction(cells: Mapping[tuple[str, str], Sequence[float]], a_levels: Sequence[str],
                      b_levels: Sequence[str]) -> Result:
    """The A x B interaction of a 2 x 2 least-squares ANOVA: F, p and d = 2 f (module docstring)."""
    values = [(a, b, y) for (a, b), ys in cells.items() for y in ys]
    n = len(values)
    if n <= 4 or any(len(cells.get((a, b), ())) == 0 for a in a_levels for b in b_levels):
        return Result(n, NAN, NAN, NAN)
    means = {key: sum(ys) / len(ys) for key, ys in cells.items()}
    sse_full = sum((y - means[(a, b)]) ** 2 for a, b, y in values)
    # The additive model: y = mu + alpha_a + beta_b, fitted by least squares.
    design = numpy.array([[1.0, 1.0 if a == a_levels[0] else 0.0, 1.0 if b == b_levels[0] else 0.0]
                          for a, b, _ in values])
    target = numpy.array([y for _, _, y in values])
    coefficients, *_ = numpy.linalg.lstsq(design, target, rcond=None)
    sse_additive = float(((target - design @ coefficients) ** 2).sum())
    ss_interaction = sse_additive - sse_full
    if sse_full <= 0:
        return Result(n, NAN, NAN, NAN)
    f_value = ss_interaction / (sse_full / (n - 4))
    p = float(stats.f.sf(f_value, 1, n - 4))
    eta = ss_interaction / (ss_interaction + sse_full)
    contrast = (means[(a_levels[0], b_levels[0])] - means[(a_levels[0], b_levels[1])]
                - means[(a_levels[1], b_levels[0])] + means[(a_levels[1], b_levels[1])])
    d = math.copysign(2 * math.sqrt(eta / (1 - eta)), contrast) if eta < 1 else math.copysign(math.inf, contrast)
    return Result(n, d, f_value, p)


def analyse(design: Design, outcomes: Mapping[str, float], condition_of: Mapping[str, str]) -> Result:
    """The design's test on one source: ``outcomes`` and ``condition_of`` are keyed by person."""
    groups: dict[tuple[str, ...], list[float]] = {}
    for person, value in outcomes.items():
        condition = condition_of.get(person)
        if condition not in design.levels or value is None or math.isnan(value):
            continue
        groups.setdefault(design.levels[condition], []).append(float(value))
    if design.test == "anova_interaction":
        a_levels, b_levels = _ordered_levels(design, 0), _ordered_levels(design, 1)
        cells = {(key[0], key[1]): values for key, values in groups.items()}
        return anova_interaction(cells, a_levels, b_levels)
    first, second = (groups.get((level,), []) for level in _ordered_levels(design, 0)[:2])
    if design.test == "chi_square":
        return chi_square([v == 1 for v in first], [v == 1 for v in second])
    return t_test(first, second)


def _outcomes(frame: pd.DataFrame, design: Design) -> dict[str, float]:
    rows = frame[(frame["instrument"] == design.experiment_id) & (frame["item_id"] == design.outcome)]
    return {str(p): float(v) for p, v in zip(rows["pseudonym_id"], rows["value"], strict=True)
            if v is not None and not pd.isna(v)}


def replication(designs_: Sequence[Design], truth: pd.DataFrame, conditions: pd.DataFrame,
                predictions: pd.DataFrame | None) -> pd.DataFrame:
    """One row per experiment and source (human_wave1, human_wave2, agents): n, d, statistic, p."""
    rows = []
    for design in designs_:
        mine = conditions[conditions["experiment_id"] == design.experiment_id]
        by_wave = {wave: {str(p): str(c) for p, c in zip(part["pseudonym_id"], part["condition_id"], strict=True)}
                   for wave, part in mine.groupby("wave")}
        sources: dict[str, tuple[dict[str, float], dict[str, str]]] = {
            "human_wave1": (_outcomes(truth[truth["wave"] == 1], design), by_wave.get(1, {})),
            "human_wave2": (_outcomes(truth[truth["wave"] == 2], design), by_wave.get(2, by_wave.get(1, {}))),
        }
        if predictions is not None:
            sources["agents"] = (_outcomes(predictions, design), by_wave.get(1, {}))
        for source, (outcomes, condition_of) in sources.items():
            result = analyse(design, outcomes, condition_of)
            rows.append({"experiment_id": design.experiment_id, "test": design.test, "source": source,
                         "n": result.n, "effect_size": result.effect_size, "statistic": result.statistic,
                         "p_value": result.p_value})
    return pd.DataFrame(rows, columns=COLUMNS)


def effect_size_correlations(table: pd.DataFrame) -> dict[str, float]:
    """Pearson's r across experiments: agents vs wave-1 humans, and wave-2 vs wave-1 humans."""
    wide = table.pivot(index="experiment_id", columns="source", values="effect_size")
    out = {}
    for name, source in (("agents_vs_humans", "agents"), ("humans_wave2_vs_wave1", "human_wave2")):
        if source in wide.columns and "human_wave1" in wide.columns:
            out[name] = pearson(list(wide[source]), list(wide["human_wave1"]))
    return out


def scatter_svg(table: pd.DataFrame, width: int = 420, height: int = 420) -> str:
    """A scatter plot of each experiment's effect size, agents (y) against wave-1 humans (x), as SVG."""
    wide = table.pivot(index="experiment_id", columns="source", values="effect_size")
    points = [(str(name), float(row["human_wave1"]), float(row["agents"])) for name, row in wide.iterrows()
              if "agents" in wide.columns and not (pd.isna(row["human_wave1"]) or pd.isna(row["agents"]))
              and math.isfinite(row["human_wave1"]) and math.isfinite(row["agents"])]
    margin = 50
    values = [v for _, x, y in points for v in (x, y)] or [0.0, 1.0]
    low, high = min(0.0, *values), max(0.0, *values)
    if high - low < 1e-9:
        high = low + 1.0
    span = high - low

    def sx(v: float) -> float:
        return margin + (v - low) / span * (width - 2 * margin)

    def sy(v: float) -> float:
        return height - margin - (v - low) / span * (height - 2 * margin)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{sx(low):.1f}" y1="{sy(low):.1f}" x2="{sx(high):.1f}" y2="{sy(high):.1f}" '
             'stroke="#999" stroke-dasharray="4 3"/>',
             f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" y2="{height - margin}" '
             'stroke="black"/>',
             f'<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{height - margin}" stroke="black"/>',
             f'<text x="{width / 2:.0f}" y="{height - 12}" text-anchor="middle">humans, wave 1 (Cohen\'s d)</text>',
             f'<text x="14" y="{height / 2:.0f}" text-anchor="middle" transform="rotate(-90 14 {height / 2:.0f})">'
             "agents (Cohen's d)</text>",
             f'<text x="{margin}" y="{height - margin + 14}" text-anchor="middle">{low:.2f}</text>',
             f'<text x="{width - margin}" y="{height - margin + 14}" text-anchor="middle">{high:.2f}</text>']
    for name, x, y in points:
        parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="#1f77b4"><title>{name}: '
                     f'humans {x:.2f}, agents {y:.2f}</title></circle>')
        parts.append(f'<text x="{sx(x) + 6:.1f}" y="{sy(y) - 6:.1f}">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
