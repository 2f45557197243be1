"""``voxbank pilot``: simulated participants through the whole guide, and a report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from voxbank.commands.errors import UsageError
from voxbank.settings import get_settings


def pilot(
    personas: Annotated[int, typer.Option("--personas", min=1, help="how many simulated participants")] = 1,
    guide: Annotated[str | None, typer.Option("--guide", help="interview guide, e.g. avp or short; "
                                                             "default: the study's guide")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the report to this JSON file")] = None,
    seed: Annotated[int, typer.Option("--seed", help="which personas are drawn")] = 0,
) -> None:
    """Interview simulated participants (personas from the quotas) on a simulated clock; print a report."""
    from interviewer.conductor import ConductorError, guide_file
    from interviewer.pilot import format_report, run_pilot
    from protocols import load_study
    from voxbank.commands._llm_session import database, language_model
    from voxbank.wiring import conductor_options

    settings = get_settings()
    study = load_study(settings.study_dir) if settings.study_dir else load_study()
    try:
        chosen = guide_file(guide or study.spec.interview_guide or "avp", settings.study_dir)
    except ConductorError as error:
        raise UsageError(str(error)) from None
    with database(settings) as factory, language_model(settings) as llm:
        report = run_pilot(llm=llm, session_factory=factory, study=study, guide_file=chosen, personas=personas,
                           seed=seed, options=conductor_options(settings))
    typer.echo(format_report(report))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
        typer.echo(f"report written to {json_path}")
