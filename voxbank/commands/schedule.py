"""``voxbank schedule``: the retest scheduler's rows (invitations, reminders, window closes, approvals,
bonus payments): list them, send what is due now, put a failed one back."""

from __future__ import annotations

from datetime import datetime

import typer
from sqlalchemy import select

from storage.db import make_session_factory, transaction
from storage.models import ScheduledAction
from storage.states import ActionStatus
from voxbank.commands.errors import CommandFailed, UsageError
from voxbank.wiring import database_engine

app = typer.Typer(help="The retest scheduler: list future actions, send what is due, retry a failed one.",
                  no_args_is_help=True)

STATUSES = tuple(ActionStatus)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


@app.command("list")
def list_actions(
    status: str | None = typer.Option(None, "--status", help="only this status: pending, sent, cancelled or failed"),
    kind: str | None = typer.Option(None, "--kind", help="only this kind: invitation, reminder, window_close, "
                                                         "approval or bonus_payment"),
    limit: int = typer.Option(50, "--limit", min=1, help="show at most this many rows (soonest due first)"),
) -> None:
    """List scheduled actions (soonest due first) and the count of each kind by status."""
    from survey.scheduling.runner import counts
    from voxbank.settings import get_settings

    if status is not None and status not in STATUSES:
        raise UsageError(f"--status: choose from {', '.join(STATUSES)}")
    engine = database_engine(get_settings())
    try:
        with make_session_factory(engine)() as session:
            query = select(ScheduledAction).order_by(ScheduledAction.due_at, ScheduledAction.id).limit(limit)
            if status:
                query = query.where(ScheduledAction.status == status)
            if kind:
                query = query.where(ScheduledAction.kind == kind)
            rows = list(session.scalars(query))
            totals = counts(session)
    finally:
        engine.dispose()
    if not rows:
        typer.echo("no scheduled actions" + (" match" if status or kind else " yet"))
    else:
        typer.echo(f"{'id':>6}  {'kind':13} {'participant':>11} {'wave':>4}  {'due (UTC)':16}  {'status':9} "
                   f"{'tries':>5}  note")
        for a in rows:
            note = a.last_error or (f"sent {_when(a.sent_at)}" if a.sent_at else "")
            typer.echo(f"{a.id:>6}  {a.kind:13} {a.participant_id:>11} {a.payload.get('wave', ''):>4}  "
                       f"{_when(a.due_at):16}  {a.status:9} {a.attempts:>5}  {note[:100]}")
    if totals:
        typer.echo("")
        for kind_name in sorted({k for k, _ in totals}):
            parts = [f"{totals[(kind_name, s)]} {s}" for s in STATUSES if (kind_name, s) in totals]
            typer.echo(f"{kind_name:13} {', '.join(parts)}")


@app.command("run-due")
def run_due(
    limit: int = typer.Option(500, "--limit", min=1, help="handle at most this many due actions"),
    at: str | None = typer.Option(None, "--at", hidden=True,
                                  help="rehearsal only: act as if it were this UTC time (ISO 8601)"),
) -> None:
    """Plan from what participants did, then send every action that is due now, each once."""
    from voxbank.schedule_tick import open_scheduler, parse_at
    from voxbank.settings import get_settings

    with open_scheduler(get_settings(), at=parse_at(at) if at else None) as scheduler:
        report = scheduler.run_due(limit=limit)
    if not report.study_found:
        typer.echo(f"the study {scheduler.schedule.slug!r} has no database row yet: nothing to plan "
                   "(it is created when `voxbank serve` starts)")
        return
    typer.echo(f"planned: {report.planned}")
    if scheduler.client is None:
        raise CommandFailed(f"Prolific is not configured (VOXBANK_PROLIFIC_TOKEN is not set): "
                            f"{report.waiting_for_prolific} due action(s) wait; nothing was sent")
    for o in report.outcomes:
        typer.echo(f"{o.result:9}  {o.kind:13}  action {o.action_id:<6} participant {o.participant_id:<6} {o.detail}")
    typer.echo(f"{report.count('sent')} sent, {report.count('cancelled')} cancelled, {report.count('later')} put off, "
               f"{report.count('retry')} to retry, {report.count('failed')} failed")
    if report.count("failed"):
        raise typer.Exit(1)


@app.command("retry")
def retry(
    action_id: int = typer.Argument(..., help="the failed or cancelled action to put back"),
    pay_again: bool = typer.Option(False, "--pay-again", help="a bonus whose earlier pay request may have gone "
                                                              "through: pay it (check Prolific first)"),
) -> None:
    """Put a failed or cancelled action back to pending, due now; the next tick sends it."""
    from survey.scheduling.runner import retry as put_back
    from voxbank.settings import get_settings

    engine = database_engine(get_settings())
    try:
        with transaction(make_session_factory(engine)) as session:
            action = put_back(session, action_id, actor="staff:cli", pay_again=pay_again)
            kind = action.kind
    except (LookupError, ValueError) as error:
        raise CommandFailed(str(error)) from None
    finally:
        engine.dispose()
    typer.echo(f"action {action_id} ({kind}) is pending again; "
               "it is sent at the next tick or by `voxbank schedule run-due`")
