"""The ``voxbank`` command: one entry point for study staff and operators."""

from __future__ import annotations

import typer

from storage.files import restrict_umask
from voxbank.commands import audio as audio_commands
from voxbank.commands import backup as backup_commands
from voxbank.commands import celery_worker, db, evaluate, export, games, serve, transcribe
from voxbank.commands import interview as interview_command
from voxbank.commands import llm as llm_commands
from voxbank.commands import pilot as pilot_command
from voxbank.commands import prolific as prolific_commands
from voxbank.commands import protocols as protocols_commands
from voxbank.commands import schedule as schedule_commands
from voxbank.commands import staff as staff_commands
from voxbank.commands.agent import agent as agent_command
from voxbank.commands.errors import ErrorRenderingGroup
from voxbank.settings import get_settings

app = typer.Typer(help="voxbank: interview-based data collection for generative agents.",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=ErrorRenderingGroup)
app.add_typer(db.app, name="db")
app.add_typer(protocols_commands.app, name="protocols")
app.add_typer(schedule_commands.app, name="schedule")
app.add_typer(prolific_commands.app, name="prolific")
app.add_typer(staff_commands.app, name="staff")
app.command(name="export")(export.export)
app.command(name="check-export")(export.check_export)
app.command(name="evaluate")(evaluate.evaluate)
app.command(name="worker")(celery_worker.worker)
app.command(name="beat")(celery_worker.beat)
app.command(name="backup")(backup_commands.backup)  # operations (deploy/)
app.command(name="restore")(backup_commands.restore)
app.command(name="purge-wav")(audio_commands.purge_wav)
app.command(name="transcribe")(transcribe.transcribe)
app.command(name="serve")(serve.serve)
app.command(name="payoffs")(games.payoffs)
app.command(name="agent")(agent_command)
app.command(name="interview")(interview_command.interview)
app.add_typer(llm_commands.app, name="llm")
app.command(name="pilot")(pilot_command.pilot)


@app.callback()
def main() -> None:
    """Refuse to start on an invalid configuration, naming the variable at fault (`SettingsError`, rendered
    by `ErrorRenderingGroup` with exit status 2)."""
    restrict_umask()  # the database, blobs and exports this process writes are private (storage.files)
    settings = get_settings()
    from voxbank.logging_config import configure_logging

    configure_logging(settings, "cli")  # serve, worker, beat and agent name their own process kind


@app.command()
def doctor() -> None:
    """Check settings, database, broker, study files and models; say how to fix what is missing."""
    from voxbank.doctor import run_checks

    findings = run_checks(get_settings())
    width = max(len(finding.name) for finding in findings)
    for finding in findings:
        mark = "ok  " if finding.ok else ("MISSING" if finding.required else "optional")
        typer.echo(f"{mark:8} {finding.name:{width}}  {finding.detail}")
        if not finding.ok and finding.fix:
            typer.echo(f"{'':8} {'':{width}}  fix: {finding.fix}")
    failed = [finding for finding in findings if finding.required and not finding.ok]
    typer.echo(f"\n{len(failed)} problem(s) need fixing." if failed else "\nvoxbank is ready.")
    raise typer.Exit(1 if failed else 0)
