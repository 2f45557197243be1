"""``python -m voxbank`` runs the CLI."""

from voxbank.cli import app

app(prog_name="voxbank")
