"""``voxbank interview --text``: a real interview, typed in the terminal, resumable."""

from __future__ import annotations

import textwrap
from typing import Annotated

import typer

from voxbank.commands.errors import CommandFailed, UsageError
from voxbank.settings import get_settings

PAUSE = "/pause"


def interview(
    text: Annotated[bool, typer.Option("--text", help="type the answers in this terminal (required here)")] = False,
    guide: Annotated[str | None, typer.Option("--guide", help="interview guide, e.g. avp or short; "
                                                             "default: the study's guide")] = None,
    resume: Annotated[int | None, typer.Option("--resume", help="continue interview ID from its checkpoint")] = None,
) -> None:
    """Hold an interview in the terminal (answers timed by their words); /pause stops, --resume ID goes on."""
    from interviewer.conductor import Conductor, ConductorError, guide_file
    from interviewer.conductor.budget import estimated_turn_seconds
    from protocols import load_study
    from storage.models import Interview
    from voxbank.commands._llm_session import database, language_model
    from voxbank.wiring import conductor_options

    if not text:
        raise UsageError("only the typed interview runs from the command line: add --text "
                         "(the voice interview runs in the participant's browser)")
    settings = get_settings()
    study = load_study(settings.study_dir) if settings.study_dir else load_study()
    with database(settings) as factory, language_model(settings) as llm:
        try:
            if resume is not None:
                with factory() as session:
                    row = session.get(Interview, resume)
                    if row is None:
                        raise CommandFailed(f"there is no interview {resume}")
                    guide_id = row.guide_id
                conductor = Conductor.resume(resume, guide_file(guide_id, settings.study_dir), llm, factory,
                                             options=conductor_options(settings))
            else:
                name = guide or study.spec.interview_guide or "avp"
                conductor = Conductor.start(guide_file(name, settings.study_dir), llm, factory, mode="text",
                                            options=conductor_options(settings))
        except ConductorError as error:
            raise CommandFailed(str(error)) from None
        speaker = conductor.guide.interviewer_name
        typer.echo(f"interview {conductor.interview_id} ({conductor.guide.id}): answer after 'You:' and press "
                   f"Enter; type {PAUSE} to stop for now.\n")
        reply = conductor.open()
        if reply.resumed:
            typer.echo(f"(resuming interview {conductor.interview_id} where it stopped)\n")
        while True:
            for utterance in reply.utterances:
                typer.echo(textwrap.fill(f"{speaker}: {utterance.text}", width=100) + "\n")
            if reply.done:
                break
            answer = _read_answer()
            if answer is None:
                typer.echo(f"\npaused. Resume with: voxbank interview --text --resume {conductor.interview_id}")
                raise typer.Exit(0)
            reply = conductor.respond(answer, estimated_turn_seconds(answer))
        with factory() as session:
            status = session.get(Interview, conductor.interview_id)
            typer.echo(f"interview {conductor.interview_id} {status.status if status else 'ended'}.")


def _read_answer() -> str | None:
    """The participant's next answer; None to pause (``/pause`` or end of input)."""
    while True:
        try:
            line = input("You: ").strip()
        except EOFError:
            return None
        if line == PAUSE:
            return None
        if line:
            return line
