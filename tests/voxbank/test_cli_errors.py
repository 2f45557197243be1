"""A command's failure is rendered in one place: its message alone on stderr, and its exit status."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from voxbank.commands.errors import CommandFailed, ErrorRenderingGroup, UsageError
from voxbank.settings import load_settings


def run(*args: str) -> tuple[int, str, str]:
    app = typer.Typer(cls=ErrorRenderingGroup, pretty_exceptions_enable=False)

    @app.command()
    def fail(how: str) -> None:
        if how == "usage":
            raise UsageError("--tier must be open or restricted, not 'secret'")
        if how == "settings":
            load_settings(llm_timeout_s=-1)
        raise CommandFailed("there is no interview 999")

    @app.command()
    def other() -> None:
        """A second command, so that the group dispatches by name."""

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_failed_command_prints_its_message_and_exits_1() -> None:
    assert run("fail", "missing") == (1, "", "there is no interview 999\n")


def test_a_command_asked_wrongly_exits_2() -> None:
    assert run("fail", "usage") == (2, "", "--tier must be open or restricted, not 'secret'\n")


def test_an_invalid_setting_is_named_and_exits_2() -> None:
    code, out, err = run("fail", "settings")
    assert (code, out) == (2, "")
    assert err.startswith("invalid configuration:\n  VOXBANK_LLM_TIMEOUT_S: ")
