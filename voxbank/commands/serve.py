"""``voxbank serve``: run the web app (participant pages) with uvicorn."""

from __future__ import annotations

import typer

from voxbank.settings import get_settings


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0 for every interface)"),
    port: int = typer.Option(8000, help="port to listen on"),
) -> None:
    """Serve the participant pages (the study's /study/<slug>/start link) with uvicorn."""
    import uvicorn

    from voxbank.wiring import web_app

    settings = get_settings()
    app = web_app(settings)
    typer.echo(f"serving study {app.state.runtime.slug} at http://{host}:{port}/study/{app.state.runtime.slug}/start")
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")
