"""``voxbank db``: create and migrate the database schema."""

from __future__ import annotations

import typer

from storage import migrate
from storage.db import make_engine
from voxbank.settings import get_settings
from voxbank.wiring import database_engine

app = typer.Typer(help="Create and migrate the database schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Create the schema or bring it up to date (safe to run again)."""
    url = get_settings().resolved_database_url
    migrate.upgrade(url, revision)
    engine = make_engine(url)
    typer.echo(f"database {engine.url.render_as_string(hide_password=True)} is at revision "
               f"{migrate.current_revision(engine)}")
    engine.dispose()


@app.command()
def downgrade(revision: str = typer.Argument(..., help="target revision; 'base' removes every table")) -> None:
    """Take the schema back to an earlier revision."""
    migrate.downgrade(get_settings().resolved_database_url, revision)
    typer.echo(f"downgraded to {revision}")


@app.command()
def current() -> None:
    """Print the schema revision the database is at."""
    engine = database_engine(get_settings())
    typer.echo(migrate.current_revision(engine) or "empty (run: voxbank db upgrade)")
    engine.dispose()
