"""``voxbank export``: write the consented participants to an agent bank (see agentbank.export)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxbank.commands.errors import CommandFailed, UsageError
from voxbank.settings import get_settings


def export(
    out: Annotated[Path, typer.Option("--out", help="new or empty folder to write the export to")],
    actor: Annotated[str, typer.Option("--actor", help="who makes the export (audit log), e.g. staff:ana@lab.org")],
    tier: Annotated[str, typer.Option("--tier", help="open: aggregates only; restricted: individual agents and answers")
                    ] = "open",
    study: Annotated[str | None, typer.Option("--study", help="study slug; needed when the database holds several")
                     ] = None,
    min_cell: Annotated[int, typer.Option("--min-cell", min=1, help="open tier: blank answer counts below this")] = 5,
) -> None:
    """Export consented, not-withdrawn participants as genagents agents (restricted) or aggregates (open)."""
    import protocols
    from agentbank.embeddings import EmbeddingUnavailable
    from agentbank.export import ExportError, run_export
    from agentbank.scrub import ScrubberUnavailable
    from storage.db import make_session_factory
    from voxbank.wiring import database_engine, embedder_from_settings

    if tier not in ("open", "restricted"):
        raise UsageError(f"--tier must be open or restricted, not {tier!r}")
    settings = get_settings()
    protocol = protocols.load_study(settings.study_dir or protocols.default_study_dir())
    engine = database_engine(settings)
    try:
        result = run_export(
            make_session_factory(engine), protocol, out, tier=tier, actor=actor,
            embedder=embedder_from_settings(settings) if tier == "restricted" else None,
            study_slug=study, min_cell=min_cell,
        )
    except (ExportError, EmbeddingUnavailable, ScrubberUnavailable) as error:
        raise CommandFailed(f"export failed: {error}") from None
    finally:
        engine.dispose()
    counts = ", ".join(f"{name} {value}" for name, value in result.counts.items())
    typer.echo(f"{result.tier} export written to {result.out}: {counts}")
    typer.echo(f"manifest sha256 {result.manifest_sha256} (export {result.export_id}, recorded in the audit log)")
