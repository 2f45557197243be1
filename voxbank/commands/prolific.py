"""``voxbank prolific``: Prolific operations for study staff."""

from __future__ import annotations

import typer

from voxbank.commands.errors import CommandFailed

app = typer.Typer(help="Prolific operations: compare submissions with voxbank, mend the allowlist group.",
                  no_args_is_help=True)


@app.command("sync")
def sync() -> None:
    """Plan the scheduler's rows, read every submission of our Prolific studies, record their statuses,
    report mismatches, and put invited participants missing from the allowlist group back."""
    from sqlalchemy import select

    from storage.models import Study, utcnow
    from survey.prolific_api import ProlificError
    from survey.prolific_api.sync import sync as run_sync
    from voxbank.schedule_tick import open_scheduler
    from voxbank.settings import get_settings

    settings = get_settings()
    with open_scheduler(settings) as scheduler:
        client = scheduler.client
        if client is None:
            raise CommandFailed("Prolific is not configured: set VOXBANK_PROLIFIC_TOKEN")
        try:
            me = client.me()
            planned = scheduler.plan()
            with scheduler.factory() as session:
                study_id = session.scalar(select(Study.id).where(Study.slug == scheduler.schedule.slug))
            if study_id is None or planned is None:
                typer.echo(f"the study {scheduler.schedule.slug!r} has no database row yet: nothing to compare")
                return
            report = run_sync(scheduler.factory, study_id, client, group_id=settings.prolific_retest_group_id,
                              now=utcnow())
        except ProlificError as error:
            raise CommandFailed(f"Prolific: {error.message}") from None
    typer.echo(f"signed in to Prolific as researcher {me.get('id', '?')}")
    typer.echo(f"planned: {planned}")
    problems = 0
    if not report.studies:
        typer.echo("no visit has come from Prolific yet")
    for study in report.studies:
        waves = ", ".join(str(w) for w in study.waves)
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(study.by_status.items())) or "no submissions"
        typer.echo(f"\nProlific study {study.prolific_study_id} (wave {waves}): {statuses}")
        typer.echo(f"  {study.recorded} status change(s) recorded; {study.not_ours} submission(s) with no visit here")
        for visit_id, status in study.completed_here_but:
            typer.echo(f"  CHECK visit {visit_id}: completed here but {status} on Prolific")
        for visit_id in study.submitted_not_completed:
            typer.echo(f"  CHECK visit {visit_id}: awaiting review on Prolific but not completed here")
        problems += len(study.completed_here_but) + len(study.submitted_not_completed)
    if report.group is not None:
        g = report.group
        typer.echo(f"\nallowlist group {g.group_id}: {g.should_be_in} invited with an open window, "
                   f"{g.members} member(s), {g.put_back} put back")
    elif settings.prolific_retest_group_id is None:
        typer.echo("\nno allowlist group configured (VOXBANK_PROLIFIC_RETEST_GROUP_ID)")
    typer.echo(f"\n{problems} mismatch(es) to check" if problems else "\nvoxbank and Prolific agree")
