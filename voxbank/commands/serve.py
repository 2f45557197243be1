"""``voxbank serve``: run the web app (participant pages) with uvicorn."""

from __future__ import annotations

import typer
from fastapi import FastAPI

from voxbank.settings import get_settings


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0 for every interface)"),
    port: int = typer.Option(8000, help="port to listen on"),
    workers: int = typer.Option(1, min=1, help="web worker processes (each answers requests; metrics add up)"),
) -> None:
    """Serve the participant pages (the study's /study/<slug>/start link) with uvicorn."""
    import uvicorn

    from voxbank.logging_config import configure_logging, uvicorn_log_config
    from voxbank.metrics import prepare_process

    settings = get_settings()
    configure_logging(settings, "web")
    prepare_process("web")  # before the workers start: they write their metrics into one folder
    from protocols import default_study_dir, load_study

    slug = load_study(settings.study_dir or default_study_dir()).id
    typer.echo(f"serving study {slug} at http://{host}:{port}/study/{slug}/start with {workers} worker(s)")
    uvicorn.run("voxbank.commands.serve:web_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, log_config=uvicorn_log_config(), log_level=settings.log_level.lower())


def web_app() -> FastAPI:
    """The app one web worker serves (uvicorn's factory: each worker process calls it once)."""
    from voxbank.logging_config import configure_logging
    from voxbank.wiring import web_app as wired_web_app

    settings = get_settings()
    configure_logging(settings, "web")
    return wired_web_app(settings)
