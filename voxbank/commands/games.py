"""``voxbank payoffs``: pair the games' stored decisions and compute payoffs and bonuses (safe to rerun)."""

from __future__ import annotations

import typer

from voxbank.settings import get_settings


def payoffs() -> None:
    """Pair completed participants' game decisions, write each payoff once, then the bonuses."""
    from protocols import default_study_dir, load_study
    from storage.db import make_session_factory, transaction
    from survey.games.outcomes import compute_outcomes
    from survey.runtime import StudyRuntime
    from survey.study_rows import sync_study
    from voxbank.wiring import database_engine

    settings = get_settings()
    runtime = StudyRuntime(load_study(settings.study_dir or default_study_dir()))
    engine = database_engine(settings)
    try:
        with transaction(make_session_factory(engine)) as session:
            sync_study(session, runtime)
            report = compute_outcomes(session, runtime)
    finally:
        engine.dispose()
    for game_id in runtime.games:
        typer.echo(f"{game_id:12} {report.outcomes.get(game_id, 0):6} outcomes written, "
                   f"{report.waiting.get(game_id, 0):4} decisions waiting for partners")
    typer.echo(f"{report.bonuses} bonus(es) computed")
