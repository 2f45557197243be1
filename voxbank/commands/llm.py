"""``voxbank llm``: the interviewer's language model."""

from __future__ import annotations

import typer

from voxbank.commands.errors import CommandFailed
from voxbank.settings import get_settings

app = typer.Typer(help="The interviewer's language model.", no_args_is_help=True)


@app.command()
def serve() -> None:
    """Run the embedded llama.cpp server (Gemma 3 270M) on VOXBANK_LLM_EMBEDDED_PORT until Ctrl-C."""
    from interviewer.llm.embedded import EmbeddedServerError, exit_on_sigterm
    from voxbank.wiring import embedded_server_for

    settings = get_settings()
    server = embedded_server_for(settings)
    exit_on_sigterm()
    typer.echo("starting the embedded LLM (Gemma 3 270M, 2 threads)...", err=True)
    try:
        server.start()
    except EmbeddedServerError as error:
        raise CommandFailed(f"cannot start the embedded LLM: {error}") from None
    # From here a Ctrl-C at any moment stops the server: it may come as soon as the first line is read.
    try:
        typer.echo(f"serving {settings.llm_model} at {server.base_url} (Ctrl-C to stop)")
        typer.echo(f"other commands use it with: VOXBANK_LLM_BASE_URL={server.base_url}")
        code = server.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        server.stop()
    typer.echo("stopped")
    raise typer.Exit(code)
