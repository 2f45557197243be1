"""How a ``voxbank`` command fails: it raises one of these, and the app renders it in one place.

A command that cannot do what was asked raises `CommandFailed` (exit status 1) or, when it was
asked wrongly (an unknown option value, a missing argument), `UsageError` (exit status 2), with a
message that says what is wrong and what to do. `ErrorRenderingGroup` (the app's click group)
writes the message to stderr as it is and exits with the status; so does an invalid configuration
(`SettingsError`, status 2). Every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from voxbank.settings import SettingsError


class CommandError(Exception):
    """A command's failure, with the message shown to the operator and the exit status."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CommandFailed(CommandError):
    """What was asked could not be done (exit status 1)."""


class UsageError(CommandError):
    """The command was asked wrongly (exit status 2)."""

    exit_code = 2


class ErrorRenderingGroup(TyperGroup):
    """The ``voxbank`` app's group: renders `CommandError` and `SettingsError` from any command."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context (typer vendors click)
        try:
            return super().invoke(ctx)
        except CommandError as error:
            typer.echo(error.message, err=True)
            raise typer.Exit(error.exit_code) from None
        except SettingsError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from None
