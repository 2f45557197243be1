"""The ``experiments`` file: between-subject experiments, conditions, assignment and analysis.

Part of ``protocols.schema`` (one module per file kind); see its docstring for the conventions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from protocols.schema.base import FileHeader, Model, Slug, Text, _Checks
from protocols.schema.responses import Item, LikertResponse, NumberResponse, ScaleRef, SingleChoiceResponse


class Assignment(Model):
    """How conditions are assigned: balanced blocks holding every condition equally often."""

    policy: Literal["blocked"]
    block_size: int = Field(gt=0)


class ExperimentCondition(Model):
    """One condition: its factor levels (factorial designs) and the stimulus shown."""

    id: Slug
    factors: dict[Slug, Slug] | None = None
    stimulus: Text


class Analysis(Model):
    """The test that reproduces the original finding."""

    test: Literal["chi_square", "t_test", "anova_interaction"]
    outcome: Slug
    factor: Slug | None = None
    factors: list[Slug] | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _check(self) -> Analysis:
        checks = _Checks()
        if self.test == "anova_interaction":
            if self.factors is None or len(self.factors) < 2:
                checks.add(("factors",), "anova_interaction needs factors: [a, b]", "list the two (or more) factors")
            if self.factor is not None:
                checks.add(("factor",), "anova_interaction takes factors:, not factor:", "use factors: [a, b]")
        else:
            if self.factor is None:
                checks.add((), f"{self.test} needs factor:", "add factor: condition (or a factor name)")
            if self.factors is not None:
                checks.add(("factors",), f"{self.test} takes factor:, not factors:", "use factor: condition")
        checks.done()
        return self


class Experiment(Model):
    """One between-subjects experiment: conditions, outcome items and the analysis."""

    id: Slug
    title: Text
    source: Text
    assignment: Assignment
    conditions: list[ExperimentCondition] = Field(min_length=2)
    outcomes: list[Item] = Field(min_length=1)
    analysis: Analysis

    @model_validator(mode="after")
    def _check(self) -> Experiment:
        checks = _Checks()
        checks.unique(
            ((("conditions", i, "id"), c.id) for i, c in enumerate(self.conditions)),
            "condition id",
            "give every condition its own id",
        )
        checks.unique(
            ((("outcomes", i, "id"), o.id) for i, o in enumerate(self.outcomes)),
            "outcome id",
            "give every outcome its own id",
        )
        if self.assignment.block_size % len(self.conditions):
            checks.add(
                ("assignment", "block_size"),
                f"block_size {self.assignment.block_size} cannot hold each of the "
                f"{len(self.conditions)} conditions equally often",
                f"use a multiple of {len(self.conditions)}",
            )
        for i, outcome in enumerate(self.outcomes):
            if isinstance(outcome.response, ScaleRef):
                checks.add(
                    ("outcomes", i, "response", "scale"),
                    "experiments have no scales: the response must be written out",
                    "replace {scale: ...} with the full response (type: ...)",
                )
        factor_names = self._check_factors(checks)
        self._check_analysis(checks, factor_names)
        checks.done()
        return self

    def _check_factors(self, checks: _Checks) -> list[str]:
        with_factors = [c for c in self.conditions if c.factors is not None]
        if not with_factors:
            return []
        names = list(with_factors[0].factors or {})
        for i, condition in enumerate(self.conditions):
            if condition.factors is None:
                checks.add(
                    ("conditions", i),
                    f"condition {condition.id!r} has no factors while others do",
                    f"give every condition factors: {{{', '.join(f'{n}: ...' for n in names)}}}",
                )
            elif sorted(condition.factors) != sorted(names):
                checks.add(
                    ("conditions", i, "factors"),
                    f"condition {condition.id!r} has factors {sorted(condition.factors)}, others have {sorted(names)}",
                    "name the same factors in every condition",
                )
        checks.unique(
            (
                (("conditions", i, "factors"), tuple(sorted(c.factors.items())))
                for i, c in enumerate(self.conditions)
                if c.factors is not None
            ),
            "combination of factor levels",
            "each condition needs its own combination of levels",
        )
        return names

    def _check_analysis(self, checks: _Checks, factor_names: list[str]) -> None:
        analysis = self.analysis
        outcome_ids = [o.id for o in self.outcomes]
        if analysis.outcome not in outcome_ids:
            checks.add(
                ("analysis", "outcome"),
                f"outcome {analysis.outcome!r} is not one of this experiment's outcomes",
                f"name one of: {', '.join(outcome_ids)}",
            )
        else:
            response = self.outcomes[outcome_ids.index(analysis.outcome)].response
            wants_numbers = analysis.test in ("t_test", "anova_interaction")
            if wants_numbers and not isinstance(response, LikertResponse | NumberResponse):
                checks.add(
                    ("analysis", "outcome"),
                    f"a {analysis.test} needs a likert or number outcome, {analysis.outcome!r} is "
                    f"{getattr(response, 'type', 'a scale')}",
                    "analyse a numeric outcome, or use chi_square",
                )
            if analysis.test == "chi_square" and not isinstance(response, SingleChoiceResponse):
                checks.add(
                    ("analysis", "outcome"),
                    f"a chi_square test needs a single_choice outcome, {analysis.outcome!r} is "
                    f"{getattr(response, 'type', 'a scale')}",
                    "analyse a single_choice outcome, or use t_test",
                )
        known = ["condition", *factor_names]
        if analysis.factor is not None and analysis.factor not in known:
            checks.add(
                ("analysis", "factor"),
                f"factor {analysis.factor!r} is neither 'condition' nor a factor of the conditions",
                f"use one of: {', '.join(known)}",
            )
        for j, name in enumerate(analysis.factors or []):
            if name not in factor_names:
                checks.add(
                    ("analysis", "factors", j),
                    f"factor {name!r} is not declared in the conditions' factors",
                    f"use one of: {', '.join(factor_names) or '(no factors declared)'}",
                )
        if analysis.test == "t_test" and analysis.factor in known:
            levels = self.levels(analysis.factor)
            if len(levels) != 2:
                checks.add(
                    ("analysis", "factor"),
                    f"a t_test compares two groups, {analysis.factor!r} has {len(levels)}",
                    "use a factor with two levels, or another test",
                )

    def levels(self, factor: str) -> list[str]:
        """The distinct levels of a factor (`condition` means the condition ids), in order."""
        if factor == "condition":
            return [c.id for c in self.conditions]
        return list(dict.fromkeys((c.factors or {}).get(factor, "") for c in self.conditions))


class ExperimentSet(FileHeader):
    """`kind: experiments` — the between-subjects experiments."""

    kind: Literal["experiments"]
    experiments: list[Experiment] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ExperimentSet:
        checks = _Checks()
        checks.unique(
            ((("experiments", i, "id"), e.id) for i, e in enumerate(self.experiments)),
            "experiment id",
            "give every experiment its own id",
        )
        checks.done()
        return self

    def experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id; KeyError if there is none."""
        for experiment in self.experiments:
            if experiment.id == experiment_id:
                return experiment
        raise KeyError(experiment_id)
