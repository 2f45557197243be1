"""``voxbank evaluate``: score agent predictions against test-retest consistency (agentbank.evaluation)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from voxbank.commands.errors import CommandFailed, UsageError
from voxbank.settings import get_settings


def _fmt(value: float) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def evaluate(
    predictions: Annotated[Path, typer.Argument(help="CSV with columns pseudonym_id,instrument,item_id,value")],
    out: Annotated[Path, typer.Option("--out", help="per-person report CSV; beside it go the summary "
                                      "(<name>.summary.csv), the DPD (<name>.dpd.csv) and the experiment "
                                      "replication (<name>.experiments.csv and .svg)")] = Path("evaluation.csv"),
    export_dir: Annotated[Path | None, typer.Option("--export", help="read the actual answers from this "
                                                    "restricted export instead of the database")] = None,
    agents: Annotated[str, typer.Option("--agents", help="which agents made the predictions: interview, "
                                        "demographic or persona; GSS items they were given are not scored")
                      ] = "interview",
    min_group: Annotated[int, typer.Option("--min-group", min=1, help="DPD: leave out subgroups with fewer "
                                           "people than this")] = 5,
) -> None:
    """Score an agent's predicted answers against each person's answers and test-retest consistency."""
    import protocols
    from agentbank.baselines import UnknownBaseline, input_items
    from agentbank.catalogue import build_catalogue
    from agentbank.evaluation.experiments import designs, effect_size_correlations, replication, scatter_svg
    from agentbank.evaluation.report import (
        PredictionsError,
        demographics,
        evaluate,
        parity,
        read_predictions,
        summarise,
    )
    from agentbank.evaluation.truth import (
        conditions_and_strata_from_database,
        conditions_from_export,
        truth_from_database,
        truth_from_export,
    )
    from storage.db import make_session_factory
    from voxbank.wiring import database_engine

    settings = get_settings()
    protocol = protocols.load_study(settings.study_dir or protocols.default_study_dir())
    manifest = None
    if export_dir is not None and (export_dir / "manifest.json").exists():
        manifest = json.loads((export_dir / "manifest.json").read_text(encoding="utf-8"))
    try:
        given = frozenset(input_items(agents, manifest))
    except UnknownBaseline as error:
        raise UsageError(str(error)) from None

    if export_dir is not None:
        try:
            truth, catalogue = truth_from_export(export_dir)
        except FileNotFoundError as error:
            raise CommandFailed(str(error)) from None
        known = set(truth["pseudonym_id"].dropna().astype(str))
        try:
            predicted = read_predictions(predictions, catalogue, known)
        except PredictionsError as error:
            raise CommandFailed(str(error)) from None
        conditions = conditions_from_export(export_dir)
        strata: dict[str, dict[str, str]] = {}  # an export carries no screening strata: GSS answers only
    else:
        catalogue = build_catalogue(protocol)
        try:
            predicted = read_predictions(predictions, catalogue)
        except PredictionsError as error:
            raise CommandFailed(str(error)) from None
        engine = database_engine(settings)
        try:
            with make_session_factory(engine)() as session:
                truth = truth_from_database(session, catalogue, set(predicted["pseudonym_id"]))
                conditions, strata = conditions_and_strata_from_database(session, set(predicted["pseudonym_id"]))
        finally:
            engine.dispose()
        unknown = sorted(set(predicted["pseudonym_id"]) - set(truth["pseudonym_id"].astype(str)))
        if unknown:
            raise CommandFailed(f"{predictions}: no answers in the database for pseudonym_id {', '.join(unknown[:5])}")

    report = evaluate(truth, predicted, catalogue, given)
    summary = summarise(report)
    dpd = parity(report, demographics(truth, catalogue, strata), min_group=min_group)
    experiments = replication(designs(protocol), truth, conditions, predicted)
    out.parent.mkdir(parents=True, exist_ok=True)
    report.to_csv(out, index=False)
    summary.to_csv(out.with_suffix(".summary.csv"), index=False)
    dpd.to_csv(out.with_suffix(".dpd.csv"), index=False)
    experiments.to_csv(out.with_suffix(".experiments.csv"), index=False)
    out.with_suffix(".experiments.svg").write_text(scatter_svg(experiments), encoding="utf-8")

    typer.echo(f"{len(report)} participant(s) scored; report: {out}")
    if given:
        left_out = int(report["gss_given_items"].sum())
        typer.echo(f"not scored: GSS items the {agents} agents were given as input ({', '.join(sorted(given))}); "
                   f"{left_out} prediction(s) of them left out")
    for row in summary.itertuples(index=False):
        typer.echo(f"  {row.metric:32} n={row.n:<5} mean={_fmt(row.mean)}  sd={_fmt(row.sd)}")
    typer.echo(f"demographic parity difference (best minus worst subgroup of at least {min_group}):")
    for row in dpd.itertuples(index=False):
        if row.groups >= 2:
            typer.echo(f"  {row.variable:18} {row.metric:26} {_fmt(row.dpd)}  ({row.best_group} vs {row.worst_group}"
                       f"; {row.small_groups} smaller group(s) left out)")
    typer.echo("experiment replication (Cohen's d, p):")
    for row in experiments.itertuples(index=False):
        typer.echo(f"  {row.experiment_id:28} {row.source:12} n={row.n:<5} d={_fmt(row.effect_size)}  "
                   f"p={_fmt(row.p_value)}")
    for name, r in effect_size_correlations(experiments).items():
        typer.echo(f"  effect-size correlation {name}: r={_fmt(r)}")
