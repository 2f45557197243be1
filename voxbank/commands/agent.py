"""``voxbank agent dev|start``: run the interviewer agent for LiveKit rooms."""

from __future__ import annotations

import os

import typer

from voxbank.commands.errors import UsageError
from voxbank.settings import get_settings


def agent(
    mode: str = typer.Argument(..., metavar="dev|start",
                               help="dev: verbose logs, for development; start: production"),
) -> None:
    """Run the interviewer agent: it takes each visit's LiveKit room and holds the interview there."""
    if mode not in ("dev", "start"):
        raise UsageError(f"voxbank agent: unknown mode {mode!r}; use dev or start")
    settings = get_settings()
    if not settings.livekit_url:
        raise UsageError("voxbank agent needs a LiveKit server: set VOXBANK_LIVEKIT_URL, VOXBANK_LIVEKIT_API_KEY and "
                         "VOXBANK_LIVEKIT_API_SECRET. Without one, the browser talks to `voxbank serve` directly "
                         "(embedded WebRTC) and no agent process is needed.")
    # livekit-agents would load its 244 MB audio end-of-turn model into every worker; voxbank's turn
    # detection is VAD-based (see interviewer.voice.models), so it is never used.
    os.environ.setdefault("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")

    from voxbank.logging_config import configure_logging
    from voxbank.metrics import prepare_process, serve_metrics

    configure_logging(settings, "agent")
    prepare_process("agent")  # before the job processes start: they write their metrics into one folder
    serve_metrics(settings)
    from livekit.agents.cli import cli as livekit_cli

    # livekit-agents would add a second root handler of its own, without the personal-data filter.
    livekit_cli.setup_logging = lambda *_args, **_kwargs: None
    from interviewer.voice import worker
    from voxbank.wiring import configured_or_embedded_llm, interviewer_agent_server, livekit_options

    _llm, embedded = configured_or_embedded_llm(settings, start_embedded=True)  # job processes share one
    try:
        worker.run(interviewer_agent_server(), livekit_options(settings), dev=mode == "dev")
    finally:
        if embedded is not None:
            embedded.stop()
