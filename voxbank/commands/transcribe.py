"""``voxbank transcribe``: queue offline transcription of interviews, and optionally wait for it."""

from __future__ import annotations

import time

import typer
from kombu.exceptions import OperationalError as BrokerUnreachable
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from storage.db import make_session_factory
from storage.models import Interview
from storage.states import TranscriptionStatus
from voxbank.commands.errors import CommandFailed, UsageError
from voxbank.wiring import database_engine

FINISHED = ("done", "failed")
POLL_S = 0.5
NO_WORKER_HINT_S = 20.0


def transcribe(
    interview_id: int | None = typer.Argument(None, help="the interview to transcribe (again)"),
    pending: bool = typer.Option(False, "--pending", help="queue every interview waiting for transcription"),
    wait: bool = typer.Option(False, "--wait", help="wait until the jobs finish, showing progress"),
    timeout: float | None = typer.Option(None, "--timeout", min=0,
                                         help="with --wait: stop waiting after this many seconds"),
) -> None:
    """Queue offline transcription of one interview, or of every interview waiting for it."""
    from interviewer.transcription.jobs import (
        interviews_awaiting_transcription,
        request_transcription,
        sweep_lapsed_claims,
    )
    from voxbank.settings import get_settings
    from voxbank.tasks import send_transcription

    if (interview_id is None) == (not pending):
        raise UsageError("give an INTERVIEW_ID or --pending (one of them)")
    settings = get_settings()
    engine = database_engine(settings)
    factory = make_session_factory(engine)
    try:
        if pending:
            # Jobs whose worker died first (they go back to pending with a fresh message), then the rest.
            swept = sweep_lapsed_claims(factory, send_transcription)
            queued = list(swept)
            for candidate in interviews_awaiting_transcription(factory):
                if candidate not in swept and request_transcription(factory, candidate, requested_by="cli"):
                    send_transcription(candidate)
                    queued.append(candidate)
            typer.echo(f"queued {len(queued)} interview(s)" + (f": {', '.join(map(str, queued))}" if queued else ""))
            watched = sorted(queued)
        else:
            assert interview_id is not None
            try:
                if request_transcription(factory, interview_id, requested_by="cli"):
                    send_transcription(interview_id)
                    typer.echo(f"queued interview {interview_id}")
                else:
                    typer.echo(f"interview {interview_id} is already being transcribed")
            except LookupError as error:
                raise CommandFailed(str(error)) from None
            watched = [interview_id]
        if wait and watched:
            raise typer.Exit(_wait(factory, watched, timeout))
    except BrokerUnreachable as error:
        raise CommandFailed(f"cannot reach the broker ({error}); what was asked for stays pending: run "
                            "'voxbank transcribe --pending' once the broker is back") from None
    finally:
        engine.dispose()


def _wait(factory: sessionmaker[Session], interview_ids: list[int], timeout: float | None) -> int:
    """Show a progress bar until every job has finished; 0 if all are done, 1 if any failed, 3 on timeout."""
    started = time.monotonic()
    hinted = False
    with tqdm(total=100 * len(interview_ids), unit="%", desc="transcribing", dynamic_ncols=True) as bar:
        while True:
            with factory() as session:
                rows = session.execute(
                    select(Interview.id, Interview.transcription_status, Interview.transcription_progress,
                           Interview.transcription_error).where(Interview.id.in_(interview_ids))
                ).all()
            statuses = {row.id: row.transcription_status for row in rows}
            value = sum(100.0 if row.transcription_status in FINISHED
                        else 100.0 * (row.transcription_progress or 0.0)
                        if row.transcription_status == TranscriptionStatus.RUNNING
                        else 0.0 for row in rows)
            bar.update(value - bar.n)
            counts = {status: list(statuses.values()).count(status) for status in ("running", "pending", "done")}
            bar.set_postfix_str(f"{counts['done']} done, {counts['running']} running, {counts['pending']} waiting")
            if all(status in FINISHED for status in statuses.values()):
                break
            waited = time.monotonic() - started
            if not hinted and waited > NO_WORKER_HINT_S and counts["running"] == 0:
                bar.write("still waiting for a worker; is one running? start it with: voxbank worker")
                hinted = True
            if timeout is not None and waited > timeout:
                bar.write(f"stopped waiting after {timeout:g} s; the jobs continue in the worker")
                return 3
            time.sleep(POLL_S)
    failed = [row for row in rows if row.transcription_status == TranscriptionStatus.FAILED]
    for row in failed:
        typer.echo(f"interview {row.id} failed: {row.transcription_error}", err=True)
    done = len(rows) - len(failed)
    typer.echo(f"{done} transcribed, {len(failed)} failed")
    return 1 if failed else 0
