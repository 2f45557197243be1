"""``voxbank backup`` and ``voxbank restore``: the database and the blob store, to and from a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxbank.settings import get_settings


def backup(
    target: Annotated[Path, typer.Argument(help="a new (or empty) folder for the backup")],
) -> None:
    """Back up the database (pg_dump or SQLite's online backup, as the schema's owner) and every blob,
    with a manifest."""
    from voxbank.backup import BackupError
    from voxbank.backup import backup as run_backup

    settings = get_settings()
    try:
        manifest = run_backup(settings.resolved_database_owner_url, settings.resolved_data_dir / "blobs", target)
    except BackupError as error:
        typer.echo(f"backup failed: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backed up the {manifest.database} database (schema {manifest.schema_revision}) and "
               f"{manifest.blobs} blobs ({manifest.blob_bytes} bytes) to {target}")


def restore(
    source: Annotated[Path, typer.Argument(help="a folder written by voxbank backup")],
) -> None:
    """Restore a backup into an empty database (as its owner) and this data directory's blob store."""
    from storage import roles
    from storage.db import make_engine
    from voxbank.backup import BackupError
    from voxbank.backup import restore as run_restore

    settings = get_settings()
    try:
        manifest = run_restore(source, settings.resolved_database_owner_url, settings.resolved_data_dir / "blobs")
    except BackupError as error:
        typer.echo(f"restore failed: {error}", err=True)
        raise typer.Exit(1) from None
    if roles.separates_roles(settings.resolved_database_url, settings.resolved_database_owner_url):
        # the dump carries no privileges: the app role gets its row privileges back, and no more
        engine = make_engine(settings.resolved_database_owner_url)
        try:
            roles.grant_app_privileges(engine, roles.role_of(settings.resolved_database_url) or "")
        except roles.RoleError as error:
            typer.echo(f"restored, but the app role is not ready: {error}", err=True)
            raise typer.Exit(1) from None
        finally:
            engine.dispose()
    typer.echo(f"restored the {manifest.database} database (schema {manifest.schema_revision}) and "
               f"{manifest.blobs} blobs ({manifest.blob_bytes} bytes) from {source}")
