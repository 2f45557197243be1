"""``voxbank export``: write the consented participants to an agent bank (see agentbank.export)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxbank.commands.errors import CommandFailed, UsageError
from voxbank.settings import get_settings


def export(
    out: Annotated[Path, typer.Option("--out", help="new or empty folder to write the export to")],
    actor: Annotated[str, typer.Option("--actor", help="the enabled staff account making it, e.g. ana@lab.org")],
    tier: Annotated[str, typer.Option("--tier", help="open: aggregates only; restricted: individual agents and answers")
                    ] = "open",
    study: Annotated[str | None, typer.Option("--study", help="study slug; needed when the database holds several")
                     ] = None,
    min_cell: Annotated[int, typer.Option("--min-cell", min=1, help="open tier: blank answer counts below this")] = 5,
    baseline: Annotated[list[str] | None, typer.Option(
        "--baseline", help="restricted tier: also write the paper's comparison agents (demographic, persona); "
                           "repeat for both")] = None,
) -> None:
    """Export consented, not-withdrawn participants as genagents agents (restricted) or aggregates (open)."""
    import protocols
    from agentbank.export import ExportError, run_export
    from agentbank.scrub import ScrubberUnavailable
    from storage.db import make_session_factory
    from voxbank.wiring import database_engine, embedder_from_settings

    if tier not in ("open", "restricted"):
        raise UsageError(f"--tier must be open or restricted, not {tier!r}")
    settings = get_settings()
    actor = _staff_actor(settings.resolved_database_url, actor)
    protocol = protocols.load_study(settings.study_dir or protocols.default_study_dir())
    engine = database_engine(settings)
    try:
        result = run_export(
            make_session_factory(engine), protocol, out, tier=tier, actor=actor,
            embedder=embedder_from_settings(settings) if tier == "restricted" else None,
            study_slug=study, min_cell=min_cell, baselines=baseline or [],
        )
    except (ExportError, ScrubberUnavailable) as error:
        raise CommandFailed(f"export failed: {error}") from None
    finally:
        engine.dispose()
    counts = ", ".join(f"{name} {value}" for name, value in result.counts.items())
    typer.echo(f"{result.tier} export written to {result.out}: {counts}")
    typer.echo(f"manifest sha256 {result.manifest_sha256} (export {result.export_id}, recorded in the audit log)")


def _staff_actor(database_url: str, email: str) -> str:
    """The audit name of the enabled staff account ``email`` (``staff:`` prefix allowed); exits 2 otherwise."""
    from storage.db import make_engine, make_session_factory
    from web.staff.accounts import AccountError, actor_of, enabled_account

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return actor_of(enabled_account(session, email))
    except AccountError as error:
        raise UsageError(f"--actor: {error}") from None
    finally:
        engine.dispose()


def check_export(
    folder: Annotated[Path, typer.Argument(help="a restricted export's folder")],
) -> None:
    """Check an export's files against its manifest and its agents against what genagents will query with."""
    from agentbank.manifest import verify_manifest
    from agentbank.validate import validate_export

    if not (folder / "manifest.json").is_file():
        raise UsageError(f"{folder} has no manifest.json: is it a voxbank export?")
    problems = verify_manifest(folder) + validate_export(folder)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise CommandFailed(f"{len(problems)} problem(s): do not load this export as it is")
    typer.echo(f"{folder}: every file matches the manifest and every agent can be loaded by the importer it names")
