"""What the voice tests share besides fixtures: the spoken answers, and a stand-in of LiveKit's dispatch API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from livekit.protocol import agent_dispatch

ANSWER = "I grew up in a small town in Ohio, near a river. My father worked at the paper mill."
SECOND_ANSWER = ("I work as a nurse at the county hospital.", "Mostly on the night shift, which suits me fine.")
"""Said with a reflective one-second pause between the two parts."""


FAKE_MICROPHONE_RATE = 48000
"""Chromium's fake capture device plays its file at this rate."""


def write_fake_microphone(path: Path, answer: np.ndarray, answer_rate: int, *, lead_s: float,
                          tail_s: float) -> Path:
    """A WAV for ``--use-file-for-fake-audio-capture``: ``lead_s`` of digital silence (while the interviewer
    greets and asks), ``answer`` (int16 at ``answer_rate``), then ``tail_s`` of digital silence."""
    rate = FAKE_MICROPHONE_RATE
    upsampled = np.interp(np.linspace(0, len(answer) - 1, len(answer) * rate // answer_rate), np.arange(len(answer)),
                          answer.astype(np.float64)).astype(np.int16)
    audio = np.concatenate([np.zeros(int(lead_s * rate), np.int16), upsampled, np.zeros(int(tail_s * rate), np.int16)])
    soundfile.write(path, audio, rate, subtype="PCM_16")
    return path


@dataclass
class DispatchServer:
    url: str = ""
    dispatches: list[agent_dispatch.AgentDispatch] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)


@pytest.fixture
def livekit_server() -> Iterator[DispatchServer]:
    """``/twirp/livekit.AgentDispatchService/{ListDispatch,CreateDispatch}`` as LiveKit answers them."""
    state = DispatchServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            method = self.path.rsplit("/", 1)[-1]
            if method == "ListDispatch":
                request = agent_dispatch.ListAgentDispatchRequest.FromString(body)
                state.calls.append((method, request.room))
                reply = agent_dispatch.ListAgentDispatchResponse(
                    agent_dispatches=[d for d in state.dispatches if d.room == request.room]).SerializeToString()
            else:
                created = agent_dispatch.CreateAgentDispatchRequest.FromString(body)
                state.calls.append((method, created))
                dispatch = agent_dispatch.AgentDispatch(id="AD_new", agent_name=created.agent_name, room=created.room,
                                                        metadata=created.metadata)
                state.dispatches.append(dispatch)
                reply = dispatch.SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


WAVE_PAGES = {
    1: ("consent", "mic_check", "interview", "complete"),
    2: ("consent", "gss", "complete"),  # the retest wave has no interview
}


def admitted_visit(session: Any, participant: Any, *, scopes: tuple[str, ...] = ("participate", "audio_recording"),
                   step: str = "interview", signed: bool = True, wave: int = 1,
                   consent_withdrawn: bool = False) -> Any:
    """A visit of ``participant`` in ``wave`` standing at ``step``, with a signed consent to ``scopes`` (when
    ``signed``; marked withdrawn when ``consent_withdrawn``).

    The door check (``interviewer.admission``) admits exactly this with the defaults: wave 1, the interview
    step, a consent in force with the recording scope.
    """
    from storage.models import Consent, Visit, utcnow
    from survey.plan import Page, Plan

    pages = [{"step": name, "key": name} for name in WAVE_PAGES[wave]]
    position = next(n for n, page in enumerate(pages) if page["step"] == step)
    plan = Plan(wave=wave, seed=1, protocol_version="1", protocol_hash="0" * 64, item_orders={}, games_order=(),
                experiments_order=(), pages=tuple(Page.of(page) for page in pages))
    visit = Visit(participant_id=participant.id, wave=wave, status="started", position=position, current_step=step,
                  plan=plan.as_json())
    session.add(visit)
    if signed:
        session.add(Consent(participant_id=participant.id, document_version="1", text="consent text",
                            text_hash="0" * 64, scopes=list(scopes),
                            withdrawn_at=utcnow() if consent_withdrawn else None))
    session.flush()
    return visit


def admitted_participant(factory: Any) -> tuple[int, int]:
    """An active participant at their interview step with consent to recording, in the database's first
    study (made if there is none): ``(participant id, visit id)``."""
    import uuid

    from sqlalchemy import select

    from storage.db import transaction
    from storage.models import Participant
    from storage.models import Study as StudyRow

    with transaction(factory) as session:
        study = session.scalars(select(StudyRow)).first()
        if study is None:
            study = StudyRow(slug="s", title="t", protocol_version="1", protocol_hash="0" * 64)
            session.add(study)
            session.flush()
        participant = Participant(study_id=study.id, prolific_pid=uuid.uuid4().hex[:24],
                                  pseudonym_id=str(uuid.uuid4()), status="active")
        session.add(participant)
        session.flush()
        return participant.id, admitted_visit(session, participant).id
