"""``voxbank protocols``: validate and summarise the study's protocol files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from protocols import check_study
from voxbank.commands.errors import CommandFailed
from voxbank.settings import get_settings

app = typer.Typer(help="Validate and summarise the study protocol files.", no_args_is_help=True)


@app.command()
def check(
    path: Annotated[Path | None, typer.Argument(help="study folder or study.yaml (default: configured study)")] = None,
    overlay: Annotated[list[Path] | None, typer.Option("--overlay", help="wording overlay (repeatable)")] = None,
) -> None:
    """Validate every file the study names; print a summary, or file:line errors and exit 1."""
    report = check_study(path or get_settings().study_dir, overlays=overlay or [])
    if not report.ok:
        for line in report.errors:
            typer.echo(line, err=True)
        raise CommandFailed(f"\n{len(report.errors)} problem(s) found; nothing was changed.")
    for line in report.summary_lines:
        typer.echo(line)
    typer.echo("\nthe study is valid.")
