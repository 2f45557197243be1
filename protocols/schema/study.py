"""The ``study`` file: waves, steps, payments, quotas, consent versions and Prolific settings.

Part of ``protocols.schema`` (one module per file kind); see its docstring for the conventions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from protocols.schema.base import (
    Code,
    Currency,
    FileHeader,
    GameId,
    Invalid,
    Model,
    Number,
    Order,
    Problem,
    RelativePath,
    Slug,
    Text,
    _Checks,
)

BUILTIN_STEPS = ("consent", "mic_check", "interview", "games", "experiments")


class Reminders(Model):
    """Reminders sent while a wave's invitation is open."""

    count: int = Field(ge=0)
    every_days: int = Field(gt=0)


class Wave(Model):
    """One visit: its steps in order; later waves open `offset_days` after wave 1 completes."""

    number: int = Field(ge=1)
    steps: list[Slug] = Field(min_length=1)
    games_order: Order = "randomized"
    experiments_order: Order = "randomized"
    offset_days: int | None = Field(default=None, ge=1)
    window_days: int | None = Field(default=None, ge=1)
    reminders: Reminders | None = None
    keep_experiment_conditions: bool = False


class Bonus(Model):
    """The performance bonus: the earnings of one game picked in advance."""

    rule: Literal["preselected_game"]
    game: GameId
    min: Number
    max: Number
    per_wave: bool

    @model_validator(mode="after")
    def _check(self) -> Bonus:
        checks = _Checks()
        if self.min < 0:
            checks.add(("min",), f"min must not be negative, got {self.min}", "use 0 or more")
        if not self.min < self.max:
            checks.add(
                ("max",), f"max ({self.max}) must be greater than min ({self.min})", "swap or correct the bounds"
            )
        checks.done()
        return self


class Payments(Model):
    """What participants are paid: a base per wave and an optional bonus."""

    currency: Currency
    base: dict[int, Number]
    bonus: Bonus | None = None

    @model_validator(mode="after")
    def _check(self) -> Payments:
        checks = _Checks()
        for wave, amount in self.base.items():
            if amount < 0:
                checks.add(("base", wave), f"the base payment for wave {wave} is negative", "use 0 or more")
        checks.done()
        return self


class QuotaCell(Model):
    """One cell of a stratum and its target share of the sample."""

    id: Slug
    label: Text
    share: Number

    @model_validator(mode="after")
    def _check(self) -> QuotaCell:
        if not 0 < self.share <= 1:
            raise Invalid(
                Problem(("share",), f"share must be above 0 and at most 1, got {self.share}", "write it as a fraction")
            )
        return self


class Stratum(Model):
    """A screening variable; its cells' shares add to 1 (within 0.01)."""

    id: Slug
    question: Text
    cells: list[QuotaCell] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> Stratum:
        checks = _Checks()
        checks.unique(
            ((("cells", i, "id"), c.id) for i, c in enumerate(self.cells)), "cell id", "give every cell its own id"
        )
        checks.unique(
            ((("cells", i, "label"), c.label) for i, c in enumerate(self.cells)),
            "cell label",
            "give every cell its own label",
        )
        total = sum(c.share for c in self.cells)
        if abs(total - 1) > 0.01:
            checks.add(
                ("cells",),
                f"the shares of stratum {self.id!r} add to {total:.4f}, not 1",
                "correct the shares so that they add to 1 (within 0.01)",
            )
        checks.done()
        return self


class Quotas(Model):
    """Recruitment target and screening strata."""

    total: int = Field(gt=0)
    strata: list[Stratum] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Quotas:
        checks = _Checks()
        checks.unique(
            ((("strata", i, "id"), s.id) for i, s in enumerate(self.strata)),
            "stratum id",
            "give every stratum its own id",
        )
        checks.done()
        return self


class ConsentVersion(Model):
    """One version of the consent document and the scopes it asks for."""

    version: Text
    file: RelativePath
    required_scopes: list[Slug] = Field(min_length=1)
    optional_scopes: list[Slug] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> ConsentVersion:
        checks = _Checks()
        scopes = [(("required_scopes", i), s) for i, s in enumerate(self.required_scopes)]
        scopes += [(("optional_scopes", i), s) for i, s in enumerate(self.optional_scopes)]
        checks.unique(scopes, "scope", "list each scope once, either required or optional")
        checks.done()
        return self


class Prolific(Model):
    """Prolific completion codes."""

    completion_code: Code
    screened_out_code: Code

    @model_validator(mode="after")
    def _check(self) -> Prolific:
        if self.completion_code == self.screened_out_code:
            raise Invalid(
                Problem(
                    ("screened_out_code",),
                    "the screened-out code equals the completion code",
                    "use the two different codes Prolific gives you",
                )
            )
        return self


class StudySpec(FileHeader):
    """`kind: study` — the study: which files it uses, its waves, payments, quotas and consent."""

    kind: Literal["study"]
    interview_guides: dict[Slug, RelativePath] = Field(default_factory=dict)
    interview_guide: Slug | None = None
    instruments: dict[Slug, RelativePath] = Field(default_factory=dict)
    games: RelativePath | None = None
    experiments: RelativePath | None = None
    waves: list[Wave] = Field(min_length=1)
    payments: Payments
    quotas: Quotas | None = None
    consent: list[ConsentVersion] = Field(min_length=1)
    prolific: Prolific | None = None

    @model_validator(mode="after")
    def _check(self) -> StudySpec:
        checks = _Checks()
        self._check_guides(checks)
        for name in self.instruments:
            if name in BUILTIN_STEPS:
                checks.add(
                    ("instruments", name),
                    f"an instrument cannot be called {name!r}: that is a built-in step",
                    "rename the instrument",
                )
        for w, wave in enumerate(self.waves):
            self._check_wave(checks, w, wave)
        checks.unique(
            ((("consent", i, "version"), c.version) for i, c in enumerate(self.consent)),
            "consent version",
            "give every consent version its own number",
        )
        numbers = [wave.number for wave in self.waves]
        for wave_number in self.payments.base:
            if wave_number not in numbers:
                checks.add(
                    ("payments", "base", wave_number),
                    f"there is no wave {wave_number}",
                    f"pay only the waves that exist: {', '.join(map(str, numbers))}",
                )
        for number in numbers:
            if number not in self.payments.base:
                checks.add(("payments", "base"), f"no base payment for wave {number}", f"add {number}: <amount>")
        if self.payments.bonus is not None and self.games is None:
            checks.add(
                ("payments", "bonus"), "a game bonus needs a games file", "add games: <file> or remove the bonus"
            )
        checks.done()
        return self

    def _check_guides(self, checks: _Checks) -> None:
        if self.interview_guide is None:
            if self.interview_guides:
                checks.add(
                    (),
                    "interview_guides are listed but interview_guide does not say which one participants get",
                    f"add interview_guide: {next(iter(self.interview_guides))}",
                )
        elif self.interview_guide not in self.interview_guides:
            checks.add(
                ("interview_guide",),
                f"interview guide {self.interview_guide!r} is not listed under interview_guides",
                f"use one of: {', '.join(self.interview_guides) or '(none listed)'}",
            )

    def _check_wave(self, checks: _Checks, w: int, wave: Wave) -> None:
        if wave.number != w + 1:
            checks.add(
                ("waves", w, "number"), f"wave {w + 1} is numbered {wave.number}", "number the waves 1, 2, 3, ..."
            )
        if w == 0:
            for key in ("offset_days", "window_days", "reminders"):
                if getattr(wave, key) is not None:
                    checks.add(("waves", w, key), f"wave 1 starts at sign-up and takes no {key}", f"remove {key}")
            if wave.keep_experiment_conditions:
                checks.add(
                    ("waves", w, "keep_experiment_conditions"),
                    "wave 1 has no earlier conditions to keep",
                    "remove keep_experiment_conditions",
                )
            if wave.steps[0] != "consent":
                checks.add(
                    ("waves", w, "steps", 0),
                    f"wave 1 must begin with consent, not {wave.steps[0]!r}",
                    "put consent first: nothing may happen before it",
                )
        else:
            for key in ("offset_days", "window_days"):
                if getattr(wave, key) is None:
                    checks.add(("waves", w), f"wave {wave.number} needs {key}", f"add {key}: <days>")
        known = [*BUILTIN_STEPS, *self.instruments]
        checks.unique(
            ((("waves", w, "steps", s), step) for s, step in enumerate(wave.steps)), "step", "list each step once"
        )
        for s, step in enumerate(wave.steps):
            at = ("waves", w, "steps", s)
            if step not in known:
                checks.add(
                    at,
                    f"unknown step {step!r}",
                    f"use an instrument listed under instruments:, or one of: {', '.join(known)}",
                )
            elif step == "interview" and self.interview_guide is None:
                checks.add(
                    at, "the interview step needs an interview guide", "add interview_guides: and interview_guide:"
                )
            elif step == "games" and self.games is None:
                checks.add(at, "the games step needs a games file", "add games: <file>")
            elif step == "experiments" and self.experiments is None:
                checks.add(at, "the experiments step needs an experiments file", "add experiments: <file>")
