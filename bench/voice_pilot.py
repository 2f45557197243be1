"""The voice pilot: the short guide spoken end to end, measured the way a participant would feel it.

    python -m bench.voice_pilot [--interviews 1] [--guide short] [--llm settings|scripted]

A simulated participant answers every question aloud: known answers synthesised with Piper (a
little slower than the interviewer's voice) and spoken in real time into the in-process transport,
after the interviewer has finished speaking. Everything else is the real pipeline: Silero VAD,
Whisper (``VOXBANK_STT_MODEL``, greedy, live), the conductor with its LLM (``--llm settings``: the
configured endpoint, else the embedded Gemma 3 270M; ``--llm scripted``: a stand-in that always
moves on, to time the voice pipeline alone), Piper, recording, turn timing. Each interview lives in
a scratch SQLite database.

Printed side by side: ``stt_wer`` (live transcripts against the words spoken, over all answers)
and the response latency (end of the participant's speech to the interviewer's first audio,
measured on the recording's timeline, ``Turn.response_latency_ms``) at p50 and p95, next to its
floor: the configured end-of-turn silence (``VOXBANK_VOICE_END_OF_TURN_S``). The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from interviewer.llm.client import LLMClient
from interviewer.pilot.report import percentile
from interviewer.transcription.merge import word_error_rate
from interviewer.voice.audio_io import INPUT_RATE
from interviewer.voice.inprocess import InProcessTransport
from interviewer.voice.resample import resample
from interviewer.voice.session import InterviewSession, SessionLog, VoiceRuntime
from interviewer.voice.tts import load_piper_voice
from protocols import load_study
from storage import migrate
from storage.blobs import BlobStore
from storage.db import make_engine, make_session_factory
from storage.models import Turn
from voxbank.settings import Settings, get_settings
from voxbank.wiring import client_from_settings, llm_endpoint, load_voice_models, voice_options

ANSWERS: dict[str, list[str]] = {
    "life_story_overview": [
        "I was born in Dayton, Ohio, and grew up with two younger brothers. My father drove a delivery truck "
        "and my mother worked at a bakery. I finished high school there and studied nursing at a community "
        "college.",
        "After college I moved to Columbus for my first job at a hospital. I met my husband there, and we have "
        "been married for twenty years now.",
    ],
    "crossroads_moment": [
        "When I was twenty five my mother got sick and I had to choose between a job offer in Chicago and staying "
        "home to help. I stayed, and it taught me what matters to me.",
        "Staying close to my family changed everything. I learned to slow down and to ask for help.",
    ],
    "children_school_day_routine": [
        "Our two girls take the bus at seven thirty. After school they go to my sister's house until I pick them "
        "up around five, and then we have dinner together.",
    ],
    "political_views": [
        "I would call myself a moderate. I care most about health care and the cost of living, because I see "
        "every day how hard it is for people to pay for their medicine.",
        "I usually vote for whoever seems most practical. I do not like it when politicians only argue.",
    ],
    "values_most": [
        "My family, without a doubt. And honesty. I want my daughters to know they can always tell me the truth.",
    ],
}
FALLBACK_ANSWER = "I am not sure what else to say about that, but I am happy to go on."
SCRIPTED_DECISION = {"assessment": "The objective is met.", "signal": "none", "action": "move_on",
                     "follow_up": "Could you tell me a little more about that?"}


@contextmanager
def scripted_llm() -> Iterator[str]:
    """A stand-in OpenAI-compatible endpoint that always moves on (and reflects nothing); yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            schema = (body.get("response_format") or {}).get("json_schema") or {}
            if schema.get("name") == "reflection":
                checks = schema.get("schema", {}).get("properties", {}).get("conditions", {}).get("properties", {})
                content = json.dumps({"conditions": {n: {"value": "unknown", "evidence": ""} for n in checks},
                                      "facts": []})
            else:
                content = json.dumps(SCRIPTED_DECISION)
            data = json.dumps({"id": "scripted", "object": "chat.completion", "created": int(time.time()),
                               "model": body.get("model", "scripted"),
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": content}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


class Speaker:
    """The simulated participant's voice: Piper, resampled to the microphone's 16 kHz."""

    def __init__(self) -> None:
        self.voice = load_piper_voice()

    def say(self, text: str) -> np.ndarray:
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0)
        audio = np.concatenate([c.audio_int16_array for c in self.voice.synthesize(text, syn_config=config)])
        return resample(audio, self.voice.config.sample_rate, INPUT_RATE)


async def interview(runtime: VoiceRuntime, speaker: Speaker, guide_id: str) -> tuple[int, list[str]]:
    """One spoken interview to its end; returns its id and the answers spoken, in order."""
    transport = InProcessTransport()
    session = InterviewSession(runtime, transport.attach, guide_id=guide_id)
    await session.start()
    spoken: list[str] = []
    used: dict[str, int] = {}
    seen = 0
    try:
        while not session.done:
            await session.log.wait_for(lambda log, n=seen: len(log.played) > n or session.done, 600)
            seen = len(session.log.played)
            last = session.log.played[-1]
            if session.done or last.question_id is None or not await _interviewer_silent(session, session.log):
                continue
            answers = ANSWERS.get(last.question_id, [])
            text = answers[used.get(last.question_id, 0)] if used.get(last.question_id, 0) < len(answers) \
                else FALLBACK_ANSWER
            used[last.question_id] = used.get(last.question_id, 0) + 1
            spoken.append(text)
            await transport.speak(speaker.say(text))
        await session.wait()
    finally:
        await transport.close()
        await session.aclose()
    return session.interview_id, spoken


async def _interviewer_silent(session: InterviewSession, log: SessionLog) -> bool:
    """Whether the interviewer has finished what it had to say (no more utterances queued)."""
    count = len(log.played)
    await asyncio.sleep(0.8)
    agent = session.session
    return len(log.played) == count and agent is not None and agent.agent_state == "listening"


def measure(settings: Settings, llm: LLMClient, guide_id: str, interviews: int) -> dict[str, Any]:
    """Run the interviews and compute the report."""
    study = load_study(settings.study_dir) if settings.study_dir else load_study()
    models = load_voice_models(settings)
    speaker = Speaker()
    references: list[str] = []
    hypotheses: list[str] = []
    latencies: list[float] = []
    turns_total = 0
    with tempfile.TemporaryDirectory(prefix="voxbank-bench-voice-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'voice.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        runtime = VoiceRuntime(options=voice_options(settings), session_factory=factory,
                               blobs=BlobStore(Path(scratch) / "blobs"),
                               study=study, models=models, llm=llm)
        for _ in range(interviews):
            interview_id, spoken = asyncio.run(interview(runtime, speaker, guide_id))
            with factory() as session:
                turns = list(session.scalars(select(Turn).where(Turn.interview_id == interview_id)
                                             .order_by(Turn.seq)))
            heard = [t.text for t in turns if t.speaker == "participant"]
            turns_total += len(heard)
            references.append(" ".join(spoken))
            hypotheses.append(" ".join(heard))
            latencies += [t.response_latency_ms for t in turns
                          if t.speaker == "interviewer" and t.response_latency_ms is not None]
        engine.dispose()
    wer = word_error_rate(" ".join(references), " ".join(hypotheses))
    floor_ms = settings.voice_end_of_turn_s * 1000
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    return {
        "guide": guide_id, "interviews": interviews, "participant_turns": turns_total,
        "stt_wer": round(wer, 4) if wer is not None else None,
        "latency_p50_ms": p50, "latency_p95_ms": p95,
        "latency_mean_ms": round(sum(latencies) / len(latencies), 1) if latencies else None,
        "latency_n": len(latencies), "end_of_turn_floor_ms": floor_ms,
        "p50_over_floor_ms": round(p50 - floor_ms, 1) if p50 is not None else None,
        "stt_model": settings.stt_model, "stt_device": models.whisper.device,
        "stt_compute_type": models.whisper.compute_type, "tts": models.tts.model,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=1, help="spoken interviews to run")
    parser.add_argument("--guide", default="short", help="interview guide id (short or avp)")
    parser.add_argument("--llm", choices=["settings", "scripted"], default="settings",
                        help="settings: the configured endpoint, else the embedded Gemma; scripted: always move on")
    args = parser.parse_args()

    settings = get_settings()
    started = time.perf_counter()
    if args.llm == "scripted":
        with scripted_llm() as url:
            pilot = settings.model_copy(update={"llm_base_url": url})
            with client_from_settings(pilot) as llm:
                report = measure(pilot, llm, args.guide, args.interviews)
        llm_name = "scripted stand-in"
    else:
        with llm_endpoint(settings) as llm:
            report = measure(settings, llm, args.guide, args.interviews)
        llm_name = settings.llm_model + (" (embedded)" if settings.llm_base_url is None else "")
    wall_s = time.perf_counter() - started

    print(f"guide {args.guide}: {args.interviews} spoken interview(s), llm {llm_name}, {wall_s:.0f} s wall")
    print(f"stt_wer            {report['stt_wer']}  ({report['participant_turns']} answers, {report['stt_model']} "
          f"{report['stt_device']}/{report['stt_compute_type']}, live greedy decoding)")
    print(f"response latency   p50 {report['latency_p50_ms']} ms, p95 {report['latency_p95_ms']} ms "
          f"(n={report['latency_n']})  vs  floor {report['end_of_turn_floor_ms']:.0f} ms of end-of-turn silence")
    report.update({"llm": llm_name, "wall_seconds": round(wall_s, 1), "machine": platform.machine(),
                   "python": platform.python_version()})
    print(json.dumps(report))


if __name__ == "__main__":
    main()
