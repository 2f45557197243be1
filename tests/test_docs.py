"""The README documents every setting and every command a user can type."""

from __future__ import annotations

from pathlib import Path

import click
import typer.main

from voxbank.cli import app
from voxbank.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    missing = [f"VOXBANK_{name.upper()}" for name in Settings.model_fields
               if f"| `VOXBANK_{name.upper()}` |" not in README]
    assert missing == []


def _command_paths(command: click.Command, prefix: str = "voxbank") -> list[str]:
    if isinstance(command, click.Group):
        return [path for name, sub in command.commands.items()
                for path in _command_paths(sub, f"{prefix} {name}")]
    return [prefix]


def test_every_cli_command_is_in_the_readme() -> None:
    commands = _command_paths(typer.main.get_command(app))
    missing = [path for path in commands if f"`{path}" not in README]
    assert missing == []
