"""``voxbank purge-wav``: the audio retention sweep by hand (beat runs it hourly), with a dry run."""

from __future__ import annotations

import typer

from voxbank.settings import get_settings


def purge_wav(
    dry_run: bool = typer.Option(False, "--dry-run", help="list what would be deleted, and why the rest is kept; "
                                                          "change nothing"),
    verbose: bool = typer.Option(False, "--verbose", help="also list every recording kept, with the reason"),
) -> None:
    """Delete the WAV chunks of recordings whose Opus copy and transcript are stored and whose retention
    period has passed (deploy/README.md, "Audio at rest and its retention"); the Opus copy is kept."""
    from voxbank.audio_retention import run_sweep

    settings = get_settings()
    report, _resent = run_sweep(settings, dry_run=dry_run, resend_archives=False)
    for decision in report.decisions:
        if decision.kept is None:
            verb = "would delete" if dry_run else ("deleted" if decision.recording_id in report.purged else "left")
            typer.echo(f"{verb} recording {decision.recording_id} (interview {decision.interview_id}, "
                       f"{decision.channel}): {decision.chunks} chunks, {decision.wav_bytes} bytes")
        elif verbose or dry_run:
            typer.echo(f"keep recording {decision.recording_id} (interview {decision.interview_id}, "
                       f"{decision.channel}): {decision.kept}")
    summary = report.summary()
    if dry_run:
        typer.echo(f"dry run: {summary['due']} of {summary['recordings_checked']} recordings with WAV chunks "
                   f"would be deleted (retention {settings.audio_wav_retention_s} s); nothing was changed")
    else:
        typer.echo(f"deleted the WAV chunks of {summary['purged']} recording(s): {summary['chunks_deleted']} chunks, "
                   f"{summary['blobs_deleted']} blobs, {summary['bytes_freed']} bytes; "
                   f"{summary['recordings_checked'] - summary['due']} kept")
