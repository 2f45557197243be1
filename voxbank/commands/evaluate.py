"""``voxbank evaluate``: score agent predictions against test-retest consistency (agentbank.evaluation)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from voxbank.commands.errors import CommandFailed
from voxbank.settings import get_settings


def _fmt(value: float) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def evaluate(
    predictions: Annotated[Path, typer.Argument(help="CSV with columns pseudonym_id,instrument,item_id,value")],
    out: Annotated[Path, typer.Option("--out", help="per-person report CSV; the DPD goes to <name>.dpd.csv and "
                                      "the summary to <name>.summary.csv beside it")] = Path("evaluation.csv"),
    export_dir: Annotated[Path | None, typer.Option("--export", help="read the actual answers from this "
                                                    "restricted export instead of the database")] = None,
    agents: Annotated[str, typer.Option("--agents", help="which agents made the predictions: interview, "
                                        "demographic or persona; GSS items they were given are not scored")
                      ] = "interview",
) -> None:
    """Score an agent's predicted answers against each person's answers and test-retest consistency."""
    import protocols
    from agentbank.baselines import UnknownBaseline, input_items
    from agentbank.catalogue import build_catalogue
    from agentbank.evaluation.report import (
        PredictionsError,
        demographics,
        evaluate,
        parity,
        read_predictions,
        summarise,
    )
    from agentbank.evaluation.truth import truth_from_database, truth_from_export
    from storage.db import make_session_factory
    from voxbank.wiring import database_engine

    manifest = None
    if export_dir is not None and (export_dir / "manifest.json").exists():
        manifest = json.loads((export_dir / "manifest.json").read_text(encoding="utf-8"))
    try:
        given = frozenset(input_items(agents, manifest))
    except UnknownBaseline as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None

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
    else:
        settings = get_settings()
        catalogue = build_catalogue(protocols.load_study(settings.study_dir or protocols.default_study_dir()))
        try:
            predicted = read_predictions(predictions, catalogue)
        except PredictionsError as error:
            raise CommandFailed(str(error)) from None
        engine = database_engine(settings)
        try:
            with make_session_factory(engine)() as session:
                truth = truth_from_database(session, catalogue, set(predicted["pseudonym_id"]))
        finally:
            engine.dispose()
        unknown = sorted(set(predicted["pseudonym_id"]) - set(truth["pseudonym_id"].astype(str)))
        if unknown:
            raise CommandFailed(f"{predictions}: no answers in the database for pseudonym_id {', '.join(unknown[:5])}")

    report = evaluate(truth, predicted, catalogue, given)
    summary = summarise(report)
    dpd = parity(report, demographics(truth, catalogue))
    out.parent.mkdir(parents=True, exist_ok=True)
    report.to_csv(out, index=False)
    summary.to_csv(out.with_suffix(".summary.csv"), index=False)
    dpd.to_csv(out.with_suffix(".dpd.csv"), index=False)

    typer.echo(f"{len(report)} participant(s) scored; report: {out}")
    if given:
        left_out = int(report["gss_given_items"].sum())
        typer.echo(f"not scored: GSS items the {agents} agents were given as input ({', '.join(sorted(given))}); "
                   f"{left_out} prediction(s) of them left out")
    for row in summary.itertuples(index=False):
        typer.echo(f"  {row.metric:32} n={row.n:<5} mean={_fmt(row.mean)}  sd={_fmt(row.sd)}")
    typer.echo("demographic parity difference (best minus worst subgroup):")
    for row in dpd.itertuples(index=False):
        if row.groups >= 2:
            typer.echo(f"  {row.variable:10} {row.metric:26} {_fmt(row.dpd)}  ({row.best_group} vs {row.worst_group})")
