"""`check_study`: validate a study and summarise what it contains, for people and for CI.

The summary is derived from the loaded files, never typed in, so that it shows at a glance
whether the content says what the study team thinks it says (109 questions, 7,130 s, ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from protocols.errors import ProtocolErrors
from protocols.loader import Study, default_study_dir, load_study
from protocols.overlay import apply_overlay
from protocols.schema import MISSING_CODES, Instrument, InterviewGuide, SingleChoiceResponse


@dataclass(frozen=True)
class CheckReport:
    """The outcome of `check_study`.

    `ok` is True when the study loads cleanly; `errors` holds one ``file:line: ...`` line per
    problem; `summary_lines` describes the study when it loaded; `study` is the loaded study.
    """

    ok: bool
    errors: list[str] = field(default_factory=list)
    summary_lines: list[str] = field(default_factory=list)
    study: Study | None = None


def check_study(path: str | Path | None = None, *, overlays: Iterable[str | Path] = ()) -> CheckReport:
    """Load the study at `path` (default: the shipped study), apply `overlays`, and report.

    Never raises for content problems: they are returned in `CheckReport.errors`.
    """
    try:
        study = load_study(path if path is not None else default_study_dir())
        for overlay in overlays:
            study = apply_overlay(study, overlay)
    except ProtocolErrors as exc:
        return CheckReport(ok=False, errors=exc.lines())
    return CheckReport(ok=True, summary_lines=summarize(study), study=study)


def summarize(study: Study) -> list[str]:
    """One line per part of the study: the study, guides, instruments, games, experiments, consent."""
    spec = study.spec
    lines = [f"study {spec.id} v{spec.version}: {_waves(study)}"]
    chosen = spec.interview_guide
    for name in sorted(study.interview_guides, key=lambda n: n != chosen):
        lines.append(guide_line(study.interview_guides[name].data))
    for name in study.instruments:
        lines.append(instrument_line(study.instruments[name].data))
    if study.games is not None:
        ids = [g.id for g in study.games.data.games]
        lines.append(f"games: {len(ids)} ({', '.join(ids)})")
    if study.experiments is not None:
        experiments = study.experiments.data.experiments
        parts = [f"{e.id}: {_count(len(e.conditions), 'condition')}" for e in experiments]
        lines.append(f"experiments: {len(experiments)} ({', '.join(parts)})")
    current = study.current_consent
    lines.append(
        f"consent: {_count(len(study.consent), 'version')}, current {current.version} "
        f"({', '.join(current.required_scopes)} required; "
        f"{', '.join(current.optional_scopes) or 'no'} optional)"
    )
    if spec.quotas is not None:
        strata = ", ".join(s.id for s in spec.quotas.strata)
        lines.append(
            f"quotas: {spec.quotas.total:,} participants, {_count(len(spec.quotas.strata), 'stratum', 'strata')}"
            + (f" ({strata})" if strata else "")
        )
    return lines


def guide_line(guide: InterviewGuide) -> str:
    """One line on a guide, e.g.

    ``interview guide avp v1.0.0: 109 timed questions in 16 modules, 7,130 s (118.8 min), plus intro and closing``
    """
    seconds = guide.total_seconds
    return (
        f"interview guide {guide.id} v{guide.version}: "
        f"{_count(len(guide.questions()), 'timed question')} in {_count(len(guide.modules), 'module')}, "
        f"{seconds:,} s ({seconds / 60:.1f} min), plus intro and closing"
    )


def instrument_line(instrument: Instrument) -> str:
    """E.g. ``instrument bfi44: 44 likert items, 16 reverse-keyed (2, 6, ...), order randomized``."""
    types = Counter(instrument.response_for(item).type for item in instrument.items)
    total = len(instrument.items)
    ranked = sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) == 1:
        kinds = f"{total} {ranked[0][0]} {'item' if total == 1 else 'items'}"
    else:
        kinds = " + ".join(f"{n} {t}" for t, n in ranked) + f" items ({total})"
    reverse = [str(i) for i, item in enumerate(instrument.items, start=1) if item.reverse]
    keyed = f", {len(reverse)} reverse-keyed ({', '.join(reverse)})" if reverse else ""
    return f"instrument {instrument.id}: {kinds}{keyed}, order {instrument.order}{options_note(instrument)}"


def options_note(instrument: Instrument) -> str:
    """The single-choice items' mean substantive options and chance accuracy, beside the reference's if declared.

    E.g. ``; 177 single_choice items: mean 4.02 options, chance 24.88% (reference 3.70, chance 27.03%)``.
    The inapplicable answer (the GSS's IAP) is not an option a person with the item's condition can
    choose, so it is not counted. Chance accuracy is 1 / mean options, as Park et al. compute it.
    """
    counts = []
    for item in instrument.items:
        response = instrument.response_for(item)
        if isinstance(response, SingleChoiceResponse):
            counts.append(sum(1 for option in response.options if option.code not in MISSING_CODES))
    if not counts:
        return ""
    mean = sum(counts) / len(counts)
    note = f"; {_count(len(counts), 'single_choice item')}: mean {mean:.2f} options, chance {100 / mean:.2f}%"
    if instrument.reference_mean_options is not None:
        reference = instrument.reference_mean_options
        note += f" (reference {reference:.2f}, chance {100 / reference:.2f}%)"
    return note


def _waves(study: Study) -> str:
    parts = []
    for wave in study.spec.waves:
        text = f"wave {wave.number}: {_count(len(wave.steps), 'step')}"
        if wave.offset_days is not None:
            text += f", {wave.offset_days} days after wave 1, open {wave.window_days} days"
        parts.append(text)
    return f"{_count(len(parts), 'wave')} ({'; '.join(parts)})"


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"
