"""``voxbank interview --text``, ``voxbank pilot`` and ``voxbank llm serve``, run as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from storage.db import make_engine, make_session_factory
from storage.models import Interview, Turn
from tests.llm_stand_in import stand_in, stand_in_server  # noqa: F401  (fixtures)

VOXBANK = [sys.executable, "-m", "voxbank"]


def voxbank(*args: str, cwd: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("VOXBANK_")}
    environment.update({f"VOXBANK_{key.upper()}": value for key, value in env.items()})
    return subprocess.run([*VOXBANK, *args], input=stdin, capture_output=True, text=True, env=environment, cwd=cwd,
                          timeout=300)


def _turns(database_url: str, interview_id: int) -> list[tuple[str, str, str | None, str]]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.scalars(select(Turn).where(Turn.interview_id == interview_id).order_by(Turn.seq))
            return [(t.speaker, t.kind, t.question_id, t.text) for t in rows]
    finally:
        engine.dispose()


def _said(stdout: str) -> list[str]:
    """The interviewer's lines (piped input is not echoed, so a line may follow the 'You: ' prompt)."""
    return [line[line.index("Isabella:"):] for line in stdout.splitlines() if "Isabella:" in line]


def test_a_text_interview_pauses_and_resumes_where_it_stopped(database_url, tmp_path, stand_in) -> None:  # noqa: F811
    env = {"database_url": database_url, "data_dir": str(tmp_path), "llm_base_url": stand_in.url}
    first = voxbank("interview", "--text", "--guide", "short", cwd=tmp_path,
                    stdin="I grew up in Ohio and moved to Texas.\n/pause\n", **env)
    assert first.returncode == 0, first.stderr
    assert "Isabella: To start, I'd love to hear a short version of your life story." in first.stdout
    assert "paused. Resume with: voxbank interview --text --resume 1" in first.stdout
    before = _turns(database_url, 1)
    # Most of the life story's time is left, so the stand-in's "move on" became its follow-up.
    assert [t[1] for t in before] == ["scripted", "scripted", "answer", "followup"]
    last_said = _said(first.stdout)[-1]

    answers = "".join(f"answer number {n}, about my life.\n" for n in range(1, 60))
    second = voxbank("interview", "--text", "--resume", "1", cwd=tmp_path, stdin=answers, **env)
    assert second.returncode == 0, second.stderr
    assert "(resuming interview 1 where it stopped)" in second.stdout
    assert _said(second.stdout)[0] == last_said  # said again on resuming
    assert "interview 1 completed." in second.stdout
    after = _turns(database_url, 1)
    assert after[:len(before)] == before and after[len(before)][0] == "participant"  # nothing recorded twice
    assert after[-1][1] == "closing"
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        stored = session.get(Interview, 1)
        assert (stored.mode, stored.status, stored.visit_id) == ("text", "completed", None)
    engine.dispose()


def test_the_interview_command_needs_text_mode(tmp_path) -> None:
    result = voxbank("interview", cwd=tmp_path, data_dir=str(tmp_path))
    assert result.returncode == 2
    assert "add --text" in result.stderr


def test_a_pilot_writes_its_report_to_the_terminal_and_to_json(database_url, tmp_path, stand_in) -> None:  # noqa: F811
    stand_in.on_text = lambda call: " I have lived in the same town all my life, and I like it that way."
    out = tmp_path / "reports" / "pilot.json"
    result = voxbank("pilot", "--personas", "2", "--guide", "short", "--json", str(out), cwd=tmp_path,
                     database_url=database_url, data_dir=str(tmp_path), llm_base_url=stand_in.url)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    for field in ("questions_total", "questions_asked", "followups", "followups_per_question", "simulated_seconds",
                  "budget_seconds", "participant_words", "llm_latency_p50_ms", "llm_latency_p95_ms", "fallbacks",
                  "max_prompt_chars"):
        assert f"{field} " in result.stdout
        assert field in report
    assert report["interviews"] == 2 and report["questions_asked"] == 10
    assert f"report written to {out}" in result.stdout
    assert "pilot: 100%" in result.stderr  # tqdm progress


def test_a_pilot_on_an_empty_database_says_how_to_fix_it(empty_database_url, tmp_path, stand_in) -> None:  # noqa: F811
    result = voxbank("pilot", "--guide", "short", cwd=tmp_path, database_url=empty_database_url,
                     data_dir=str(tmp_path), llm_base_url=stand_in.url)
    assert result.returncode == 1
    assert "the database has no schema yet: run voxbank db upgrade" in result.stderr


def test_llm_serve_names_a_busy_port(tmp_path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = voxbank("llm", "serve", cwd=tmp_path, data_dir=str(tmp_path), llm_embedded_port=str(port))
    assert result.returncode == 1
    assert f"cannot start the embedded LLM: port {port} is already in use" in result.stderr


@pytest.mark.slow
def test_llm_serve_runs_the_embedded_model_until_interrupted(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("VOXBANK_")}
    environment.update({"VOXBANK_DATA_DIR": str(tmp_path), "VOXBANK_LLM_EMBEDDED_PORT": str(port)})
    # Ctrl-C must reach it even when the suite itself runs as a background job, which ignores SIGINT (and so
    # would its children): a CI run started with `&` once left the server running on
    server = subprocess.Popen([*VOXBANK, "llm", "serve"], cwd=tmp_path, env=environment, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.strip() == f"serving gemma-3-270m at http://127.0.0.1:{port}/v1 (Ctrl-C to stop)"
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10).json()
        assert models["data"][0]["id"] == "gemma-3-270m"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            # communicate, not wait: the pipes are drained while it stops, so a full pipe cannot hold it up
            _, stderr = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
            raise AssertionError(f"`voxbank llm serve` did not stop within 60 s of Ctrl-C:\n{stderr[-3000:]}") from None
    assert server.returncode == 0, stderr[-3000:]
    time.sleep(0.5)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
