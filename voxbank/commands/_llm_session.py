"""What the interview and pilot commands share: the database check and the LLM endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from sqlalchemy.orm import Session, sessionmaker

from voxbank.commands.errors import CommandFailed
from voxbank.settings import Settings

if TYPE_CHECKING:
    from interviewer.llm.client import LLMClient


@contextmanager
def database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """A session factory for the configured database; exits with the fix when it has no schema."""
    from alembic.runtime.migration import MigrationContext

    from storage.db import make_session_factory
    from voxbank.wiring import database_engine

    engine = database_engine(settings)
    try:
        with engine.connect() as connection:
            migrated = MigrationContext.configure(connection).get_current_heads()
        if not migrated:
            raise CommandFailed("the database has no schema yet: run voxbank db upgrade")
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def language_model(settings: Settings) -> Iterator[LLMClient]:
    """The LLM client: the configured endpoint, or the embedded server started for this command."""
    from interviewer.llm.embedded import EmbeddedServerError, exit_on_sigterm
    from voxbank.wiring import llm_endpoint

    exit_on_sigterm()
    if settings.llm_base_url is None:
        typer.echo("no VOXBANK_LLM_BASE_URL: starting the embedded LLM (Gemma 3 270M, 2 threads)...", err=True)
    try:
        with llm_endpoint(settings) as client:
            yield client
    except EmbeddedServerError as error:
        raise CommandFailed(f"cannot start the embedded LLM: {error}") from None
