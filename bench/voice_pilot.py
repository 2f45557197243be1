"""The voice pilot: the short guide spoken end to end, measured the way a participant would feel it.

    python -m bench.voice_pilot [--interviews 1] [--guide short] [--llm settings|scripted] [--modes off,on]

A simulated participant answers every question aloud: known answers synthesised with Piper (a
little slower than the interviewer's voice) and spoken in real time into the in-process transport,
after the interviewer has finished speaking. Everything else is the real pipeline: Silero VAD,
Whisper (``VOXBANK_STT_MODEL``, greedy, live), the conductor with its LLM (``--llm settings``: the
configured endpoint, else the embedded Gemma 3 270M; ``--llm scripted``: a stand-in that always
moves on, to time the voice pipeline alone), Piper, recording, turn timing. Each interview lives in
a scratch SQLite database.

The same interviews run side by side in one run, with the speed-ups **off** (no LLM deadline
beyond ``VOXBANK_LLM_TIMEOUT_S``, no decision ahead, no audio made ahead, no acknowledgements) and
**on** (``VOXBANK_VOICE_DECISION_DEADLINE_S`` or 1.5 s, the decision ahead, presynthesis,
acknowledgements after ``VOXBANK_VOICE_ACKNOWLEDGE_AFTER_S``). For each:

* ``latency_*``: end of the participant's speech (the VAD's) to the first audio they heard
  (``Turn.response_latency_ms``; an acknowledgement counts), p50 and p95, and the same
  ``*_over_floor_ms``: beyond the configured end-of-turn silence (``VOXBANK_VOICE_END_OF_TURN_S``),
  which is kept so that reflective pauses are not cut off;
* ``reply_latency_*``: the same to the reply itself (the question or follow-up);
* ``longest_silence_ms``: the longest silence the participant heard between the end of an answer
  (the last sample spoken) and the next time they spoke: before the interviewer's first audio and
  between its audible frames;
* what happened: acknowledgements said, scripted audio played from memory, decisions ahead
  (started, kept, dropped), LLM fallbacks by reason (``deadline``: the conductor decided without
  the model), and ``stt_wer`` (live transcripts against the words spoken).

``<what>_ratio`` is off / on. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from tqdm import tqdm

from interviewer.llm.client import LLMClient
from interviewer.pilot.report import percentile
from interviewer.transcription.merge import word_error_rate
from interviewer.voice.agent import ACKNOWLEDGEMENT
from interviewer.voice.audio_io import INPUT_RATE, OUTPUT_RATE
from interviewer.voice.inprocess import HeardFrame, InProcessTransport
from interviewer.voice.resample import resample
from interviewer.voice.session import InterviewSession, SessionLog, VoiceRuntime
from interviewer.voice.tts import load_piper_voice
from protocols import load_study
from storage import migrate
from storage.blobs import BlobStore
from storage.db import make_engine, make_session_factory
from storage.models import Interview, Turn
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
SCRIPTED_DECISION = {"signal": "none", "action": "move_on", "follow_up": "Could you tell me a little more about that?"}


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
            chat = self.path.rstrip("/").endswith("/chat/completions")
            head = {"id": "scripted", "created": int(time.time()), "model": body.get("model", "scripted")}
            if body.get("stream"):  # the client streams every reply: server-sent events, as from OpenAI
                choice = ({"index": 0, "finish_reason": "stop", "delta": {"role": "assistant", "content": content}}
                          if chat else {"index": 0, "finish_reason": "stop", "text": content})
                event = {**head, "object": "chat.completion.chunk" if chat else "text_completion", "choices": [choice]}
                data = f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode()
                kind = "text/event-stream"
            else:
                data = json.dumps({**head, "object": "chat.completion",
                                   "choices": [{"index": 0, "finish_reason": "stop",
                                                "message": {"role": "assistant", "content": content}}]}).encode()
                kind = "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
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


@dataclass
class Spoken:
    """One interview as the simulated participant lived it (event-loop times)."""

    interview_id: int
    answers: list[str]
    spoke: list[tuple[float, float]]
    """When each answer started and its last sample was spoken."""
    heard: list[HeardFrame]
    session: InterviewSession


async def interview(runtime: VoiceRuntime, speaker: Speaker, guide_id: str, bar: tqdm) -> Spoken:
    """One spoken interview to its end."""
    transport = InProcessTransport()
    session = InterviewSession(runtime, transport.attach, guide_id=guide_id)
    await session.start()
    loop = asyncio.get_running_loop()
    spoken: list[str] = []
    spoke: list[tuple[float, float]] = []
    used: dict[str, int] = {}
    seen = 0
    try:
        while not session.done:
            await session.log.wait_for(lambda log, n=seen: len(log.played) > n or session.done, 600)
            seen = len(session.log.played)
            last = session.log.played[-1]
            if (session.done or last.question_id is None or last.kind == ACKNOWLEDGEMENT
                    or not await _interviewer_silent(session, session.log)):
                continue
            answers = ANSWERS.get(last.question_id, [])
            text = answers[used.get(last.question_id, 0)] if used.get(last.question_id, 0) < len(answers) \
                else FALLBACK_ANSWER
            used[last.question_id] = used.get(last.question_id, 0) + 1
            spoken.append(text)
            samples = speaker.say(text)
            started = loop.time()
            await transport.speak(samples)
            spoke.append((started, loop.time()))
            bar.update(1)
        await session.wait()
    finally:
        await transport.close()
        await session.aclose()
    return Spoken(session.interview_id, spoken, spoke, list(transport.heard), session)


def longest_silence_s(spoke: list[tuple[float, float]], heard: list[HeardFrame], rate: int) -> float | None:
    """The longest silence the participant heard after an answer, before they spoke again: to the
    interviewer's first audible frame, and between audible frames."""
    longest: float | None = None
    for number, (_, ended) in enumerate(spoke):
        until = spoke[number + 1][0] if number + 1 < len(spoke) else float("inf")
        frames = [f for f in heard if ended <= f.at < until]
        if not frames:
            continue
        gaps = [frames[0].at - ended]
        gaps += [b.at - (a.at + len(a.samples) / rate) for a, b in zip(frames, frames[1:], strict=False)]
        longest = max(longest or 0.0, *gaps)
    return longest


async def _interviewer_silent(session: InterviewSession, log: SessionLog) -> bool:
    """Whether the interviewer has finished what it had to say (no more utterances queued)."""
    count = len(log.played)
    await asyncio.sleep(0.8)
    agent = session.session
    return len(log.played) == count and agent is not None and agent.agent_state == "listening"


OFF = {"voice_decision_deadline_s": 0.0, "voice_speculative_decision": False, "voice_presynthesis": False,
       "voice_acknowledge": False}
"""The speed-ups off: the voice path as it was (the LLM's own timeout, TTS sentence by sentence)."""


def with_speed_ups(settings: Settings, mode: str) -> Settings:
    """The settings with every speed-up off, or on (the configured deadline, else 1.5 s)."""
    if mode == "off":
        return settings.model_copy(update=OFF)
    return settings.model_copy(update={"voice_decision_deadline_s": settings.voice_decision_deadline_s or 1.5,
                                       "voice_speculative_decision": True, "voice_presynthesis": True,
                                       "voice_acknowledge": True})


def measure(settings: Settings, llm: LLMClient, guide_id: str, interviews: int, models: Any, speaker: Speaker,
            bar: tqdm) -> dict[str, Any]:
    """Run the interviews with these settings and compute their report."""
    study = load_study(settings.study_dir) if settings.study_dir else load_study()
    references: list[str] = []
    hypotheses: list[str] = []
    latencies: list[float] = []
    reply_latencies: list[float] = []
    silences: list[float] = []
    turns_total = 0
    said = {"acknowledgements": 0, "presynthesised": 0}
    speculations: dict[str, int] = {}
    fallbacks: dict[str, int] = {}
    decisions = 0
    with tempfile.TemporaryDirectory(prefix="voxbank-bench-voice-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'voice.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        runtime = VoiceRuntime(options=voice_options(settings), session_factory=factory,
                               blobs=BlobStore(Path(scratch) / "blobs"),
                               study=study, models=models, llm=llm)
        for _ in range(interviews):
            run = asyncio.run(interview(runtime, speaker, guide_id, bar))
            with factory() as session:
                turns = list(session.scalars(select(Turn).where(Turn.interview_id == run.interview_id)
                                             .order_by(Turn.seq)))
                checkpoint = dict(session.get(Interview, run.interview_id).checkpoint or {})  # type: ignore[union-attr]
            heard = [t.text for t in turns if t.speaker == "participant"]
            turns_total += len(heard)
            decisions += len(heard)
            references.append(" ".join(run.answers))
            hypotheses.append(" ".join(heard))
            latencies += [t.response_latency_ms for t in turns
                          if t.speaker == "interviewer" and t.response_latency_ms is not None]
            reply_latencies += [p.reply_latency_ms for p in run.session.log.played
                                if p.reply_latency_ms is not None and p.kind != ACKNOWLEDGEMENT]
            silence = longest_silence_s(run.spoke, run.heard, OUTPUT_RATE)
            if silence is not None:
                silences.append(silence * 1000)
            agent, presynthesis, driver = run.session.agent, run.session.presynthesis, run.session.driver
            said["acknowledgements"] += agent.acknowledgements_said if agent is not None else 0
            said["presynthesised"] += presynthesis.used if presynthesis is not None else 0
            for key, count in (driver.speculations.items() if driver is not None else ()):
                speculations[key] = speculations.get(key, 0) + count
            for reason, count in (checkpoint.get("fallback_reasons") or {}).items():
                fallbacks[reason] = fallbacks.get(reason, 0) + int(count)
        engine.dispose()
    wer = word_error_rate(" ".join(references), " ".join(hypotheses))
    floor_ms = settings.voice_end_of_turn_s * 1000
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    r50, r95 = percentile(reply_latencies, 0.5), percentile(reply_latencies, 0.95)
    return {
        "participant_turns": turns_total,
        "stt_wer": round(wer, 4) if wer is not None else None,
        "latency_p50_ms": p50, "latency_p95_ms": p95, "latency_n": len(latencies),
        "latency_p50_over_floor_ms": round(p50 - floor_ms, 1) if p50 is not None else None,
        "latency_p95_over_floor_ms": round(p95 - floor_ms, 1) if p95 is not None else None,
        "reply_latency_p50_ms": r50, "reply_latency_p95_ms": r95,
        "reply_latency_p95_over_floor_ms": round(r95 - floor_ms, 1) if r95 is not None else None,
        "longest_silence_ms": round(max(silences), 1) if silences else None,
        "acknowledgements": said["acknowledgements"], "presynthesised": said["presynthesised"],
        "decisions_ahead": speculations, "llm_fallbacks": fallbacks, "answers_decided": decisions,
    }


def _ratio(off: float | None, on: float | None) -> float | None:
    return round(off / on, 2) if off is not None and on not in (None, 0) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=1, help="spoken interviews per mode")
    parser.add_argument("--guide", default="short", help="interview guide id (short or avp)")
    parser.add_argument("--llm", choices=["settings", "scripted"], default="settings",
                        help="settings: the configured endpoint, else the embedded Gemma; scripted: always move on")
    parser.add_argument("--modes", default="off,on", help="speed-ups off, on, or both (in this order)")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("off", "on") for m in modes):
        parser.error(f"--modes takes off, on or both, comma-separated; got {args.modes!r}")

    settings = get_settings()
    started = time.perf_counter()
    models = load_voice_models(settings)
    speaker = Speaker()
    reports: dict[str, dict[str, Any]] = {}

    def run_modes(base: Settings, llm: LLMClient) -> None:
        for mode in modes:
            with tqdm(desc=f"answers spoken, speed-ups {mode}", unit="answer") as bar:
                reports[mode] = measure(with_speed_ups(base, mode), llm, args.guide, args.interviews, models,
                                        speaker, bar)

    if args.llm == "scripted":
        with scripted_llm() as url:
            pilot = settings.model_copy(update={"llm_base_url": url})
            with client_from_settings(pilot) as llm:
                run_modes(pilot, llm)
        llm_name = "scripted stand-in"
    else:
        with llm_endpoint(settings) as llm:
            run_modes(settings, llm)
        llm_name = settings.llm_model + (" (embedded)" if settings.llm_base_url is None else "")
    wall_s = time.perf_counter() - started

    floor_ms = settings.voice_end_of_turn_s * 1000
    print(f"guide {args.guide}: {args.interviews} spoken interview(s) per mode, llm {llm_name}, {wall_s:.0f} s wall, "
          f"end-of-turn floor {floor_ms:.0f} ms")
    print(f"{'':34}" + "".join(f"{mode:>14}" for mode in modes))
    rows = [("first audio p50 over floor (ms)", "latency_p50_over_floor_ms"),
            ("first audio p95 over floor (ms)", "latency_p95_over_floor_ms"),
            ("reply p95 over floor (ms)", "reply_latency_p95_over_floor_ms"),
            ("longest silence heard (ms)", "longest_silence_ms"), ("acknowledgements said", "acknowledgements"),
            ("scripted audio made ahead", "presynthesised"), ("stt_wer", "stt_wer"),
            ("answers", "participant_turns")]
    for label, key in rows:
        print(f"{label:34}" + "".join(f"{str(reports[mode][key]):>14}" for mode in modes))
    summary: dict[str, Any] = {"guide": args.guide, "interviews_per_mode": args.interviews, "llm": llm_name,
                               "end_of_turn_floor_ms": floor_ms}
    for mode in modes:
        summary.update({f"{key}_{mode}": value for key, value in reports[mode].items()})
    if "off" in reports and "on" in reports:
        for key in ("latency_p50_over_floor_ms", "latency_p95_over_floor_ms", "reply_latency_p95_over_floor_ms",
                    "longest_silence_ms"):
            summary[f"{key.removesuffix('_ms')}_ratio"] = _ratio(reports["off"][key], reports["on"][key])
    summary.update({"stt_model": settings.stt_model, "stt_device": models.whisper.device,
                    "stt_compute_type": models.whisper.compute_type, "tts": models.tts.model,
                    "wall_seconds": round(wall_s, 1), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "load_average": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version()})
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
