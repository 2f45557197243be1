"""A deterministic stand-in for an LLM endpoint, speaking the OpenAI HTTP protocol.

A real HTTP server (FastAPI on uvicorn, in a thread, on a free port) answers
``/v1/chat/completions``, ``/v1/completions`` and ``/v1/models`` the way an OpenAI-compatible
server does, so the code under test uses its real client. What it replies is up to the test:

    stand_in.on_decision = lambda call: {"signal": "none", "action": "follow_up", "follow_up": "Why?"}
    stand_in.on_decision = lambda call: Slow(5.0)        # sleeps past the client's timeout
    stand_in.on_decision = lambda call: "{not json"      # a malformed reply

``/v1/embeddings`` answers as OpenAI does, with deterministic unit vectors made from each input's
sha256 (`embedding_vector`), as long as the named model's real vectors (1,536 for
``text-embedding-3-small``; 16 for a model it does not know), so a test can use one base URL
for everything, as genagents does.

A handler gets the `Call` (the prompt, what kind of request it is, the body) and returns a dict
(sent as JSON), a string (sent as is), `Slow`, `Trickle` or `Hang`. Streamed requests
(``stream: true``) get server-sent events, as from OpenAI. Every call is kept in ``calls``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

EMBEDDING_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


def embedding_vector(text: str, model: str) -> list[float]:
    """A unit vector determined by the text, as long as ``model``'s real vectors (16 for an unknown model)."""
    dimensions = EMBEDDING_DIMENSIONS.get(model, 16)
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5 + (i // len(digest)) % 7) / 127.5 for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


@dataclass(frozen=True)
class Call:
    """One request the stand-in received."""

    endpoint: str
    kind: str
    prompt: str
    body: dict[str, Any]
    authorization: str | None = None

    @property
    def last_answer(self) -> str:
        """The participant's latest words in the prompt's conversation."""
        answers = re.findall(r"^Participant: (.*)$", self.prompt, re.MULTILINE)
        return answers[-1] if answers else ""

    @property
    def question(self) -> str:
        """The ``Question:`` line of a decision prompt."""
        found = re.findall(r"^Question: (.*)$", self.prompt, re.MULTILINE)
        return found[-1] if found else ""

    @property
    def options(self) -> list[str]:
        """The numbered follow-ups of a choice prompt, in the order shown."""
        listed = self.prompt.rsplit("Follow-up questions she could ask:\n", 1)[-1]
        return re.findall(r"^\d+\. (.*)$", listed, re.MULTILINE)

    @property
    def values(self) -> list[str]:
        """The numbered values of a check prompt, in the order shown."""
        listed = self.prompt.rsplit("Answers:\n", 1)[-1]
        return re.findall(r"^\d+\. (.*)$", listed, re.MULTILINE)

    @property
    def evidence(self) -> str:
        """The quote a check prompt asks about (the last: the first ones are examples)."""
        found = re.findall(r'^Participant said: "(.*)"$', self.prompt, re.MULTILINE)
        return found[-1] if found else ""

    @property
    def checks(self) -> list[str]:
        """The condition notes a reflection prompt asks about."""
        found = re.findall(r"^Checks: (.*)$", self.prompt, re.MULTILINE)  # the last: the first is an example
        if not found or found[-1] == "none":
            return []
        return re.findall(r"(?:^|; )([a-z0-9_]+) \(", found[-1])


@dataclass(frozen=True)
class Slow:
    """Sleep ``seconds`` before replying with ``then``."""

    seconds: float
    then: Any = None


@dataclass(frozen=True)
class Hang:
    """Never reply (until the stand-in is reset)."""


@dataclass(frozen=True)
class Trickle:
    """Reply with ``then`` a few characters at a time, ``seconds`` apart (streamed requests)."""

    seconds: float
    then: Any = None


def move_on(call: Call) -> dict[str, Any]:
    """The default decision: move on (with a follow-up written, as the schema asks)."""
    return {"signal": "none", "action": "move_on", "follow_up": "Could you tell me a bit more about that?"}


def nothing_known(call: Call) -> dict[str, Any]:
    """The default reflection: every check unknown, no new facts."""
    return {"conditions": {note: {"value": "unknown", "evidence": ""} for note in call.checks}, "facts": []}


def first_listed(call: Call) -> dict[str, Any]:
    """The default choice: the first option, whatever it is (what Gemma 3 270M does: position bias)."""
    return {"choice": 1}


def reads_as(value: str) -> Callable[[Call], dict[str, Any]]:
    """A check handler that names ``value`` wherever it is listed (a reader that is not position-biased)."""
    return lambda call: {"choice": call.values.index(value) + 1}


def not_sure(call: Call) -> str:
    """The default free-text continuation."""
    return " I'm not sure, I'd have to think about that."


@dataclass
class StandInLLM:
    """The stand-in's behaviour and what it has seen."""

    url: str = ""
    owned_by: str = "stand-in"
    on_decision: Callable[[Call], Any] = move_on
    on_reflection: Callable[[Call], Any] = nothing_known
    on_choice: Callable[[Call], Any] = first_listed
    on_check: Callable[[Call], Any] = first_listed
    on_text: Callable[[Call], Any] = not_sure
    calls: list[Call] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        """Back to the defaults, with no calls recorded."""
        self.release.set()
        self.owned_by = "stand-in"
        self.on_decision, self.on_reflection, self.on_text = move_on, nothing_known, not_sure
        self.on_choice = self.on_check = first_listed
        self.calls = []
        self.release = threading.Event()

    def of_kind(self, kind: str) -> list[Call]:
        """The calls of one kind: ``decision``, ``reflection``, ``choice``, ``check`` or ``text``."""
        return [call for call in self.calls if call.kind == kind]


def _kind(prompt: str) -> str:
    tail = prompt.rstrip()
    if tail.endswith("Decision:"):
        return "decision"
    if tail.endswith("Update:"):
        return "reflection"
    if tail.endswith("Choice:"):
        return "choice"
    if tail.endswith("Answer:"):
        return "check"
    return "text"


def create_app(stand_in: StandInLLM) -> FastAPI:
    """The stand-in's HTTP app."""
    app = FastAPI()

    async def answer(call: Call) -> tuple[str, float]:
        """The reply's text, and the pause between streamed pieces."""
        stand_in.calls.append(call)
        handler = {"decision": stand_in.on_decision, "reflection": stand_in.on_reflection,
                   "choice": stand_in.on_choice, "check": stand_in.on_check}.get(call.kind, stand_in.on_text)
        reply = handler(call)
        pause = 0.0
        while isinstance(reply, Slow | Hang | Trickle):
            if isinstance(reply, Hang):
                release = stand_in.release
                while not release.is_set():
                    await asyncio.sleep(0.05)
                reply = ""
            elif isinstance(reply, Trickle):
                pause = reply.seconds
                reply = reply.then if reply.then is not None else handler(call)
            else:
                await asyncio.sleep(reply.seconds)
                reply = reply.then if reply.then is not None else handler(call)
        return (reply if isinstance(reply, str) else json.dumps(reply)), pause

    def usage(prompt: str, text: str) -> dict[str, int]:
        return {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(text) // 4,
                "total_tokens": (len(prompt) + len(text)) // 4}

    def streamed(text: str, pause: float, chunk: Callable[[str, str | None], dict[str, Any]]) -> StreamingResponse:
        pieces = [text[i:i + 16] for i in range(0, len(text), 16)] or [""]

        async def events() -> AsyncIterator[str]:
            for piece in pieces:
                if pause:
                    await asyncio.sleep(pause)
                yield f"data: {json.dumps(chunk(piece, None))}\n\n"
            yield f"data: {json.dumps(chunk('', 'stop'))}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "stand-in", "object": "model", "created": 0,
                                            "owned_by": stand_in.owned_by}]}

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        body = await request.json()
        prompt = body["prompt"]
        text, pause = await answer(Call("completions", _kind(prompt), prompt, body,
                                        request.headers.get("authorization")))
        model = body.get("model", "stand-in")
        if body.get("stream"):
            return streamed(text, pause, lambda piece, finish: {
                "id": "cmpl-stand-in", "object": "text_completion", "created": int(time.time()), "model": model,
                "choices": [{"text": piece, "index": 0, "finish_reason": finish, "logprobs": None}]})
        return JSONResponse({"id": "cmpl-stand-in", "object": "text_completion", "created": int(time.time()),
                             "model": model,
                             "choices": [{"text": text, "index": 0, "finish_reason": "stop", "logprobs": None}],
                             "usage": usage(prompt, text)})

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        text, pause = await answer(Call("chat", _kind(prompt), prompt, body, request.headers.get("authorization")))
        model = body.get("model", "stand-in")
        if body.get("stream"):
            return streamed(text, pause, lambda piece, finish: {
                "id": "chatcmpl-stand-in", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model, "choices": [{"index": 0, "finish_reason": finish,
                                             "delta": {"role": "assistant", "content": piece}}]})
        return JSONResponse({"id": "chatcmpl-stand-in", "object": "chat.completion", "created": int(time.time()),
                             "model": model,
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": text}}],
                             "usage": usage(prompt, text)})

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        model = body.get("model", "stand-in")
        stand_in.calls.append(Call("embeddings", "embedding", "\n".join(inputs), body,
                                   request.headers.get("authorization")))
        data = [{"object": "embedding", "index": i, "embedding": embedding_vector(text, model)}
                for i, text in enumerate(inputs)]
        tokens = sum(len(text.split()) for text in inputs)
        return JSONResponse({"object": "list", "data": data, "model": model,
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    return app


@pytest.fixture(scope="session")
def stand_in_server() -> Iterator[StandInLLM]:
    """The stand-in, serving for the whole test session."""
    stand_in = StandInLLM()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(stand_in), log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    stand_in.url = f"http://127.0.0.1:{port}/v1"
    yield stand_in
    stand_in.release.set()
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture
def stand_in(stand_in_server: StandInLLM) -> Iterator[StandInLLM]:
    """The stand-in with default behaviour and no calls recorded; reset again after the test."""
    stand_in_server.reset()
    yield stand_in_server
    stand_in_server.reset()
