"""A stand-in for an OpenAI-compatible LLM: ``POST /v1/chat/completions`` (and ``/v1/completions``) on 127.0.0.1.

It answers exactly as the OpenAI API does (``{"object": "chat.completion", "choices": [{"message":
{"role": "assistant", "content": ...}}], ...}``), over real HTTP, so the conductor's `openai` client
is exercised end to end. A request whose ``response_format`` asks for the conductor's ``decision``
gets the next decision of ``decisions`` (then ``move_on``); one for a ``reflection`` gets a reply
that leaves every condition unknown and adds no fact. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MOVE_ON = {"assessment": "The objective is met.", "signal": "none", "action": "move_on",
           "follow_up": "Is there anything you would like to add about that?"}


def follow_up(question: str) -> dict[str, str]:
    """A decision to ask ``question`` next."""
    return {"assessment": "More detail would help.", "signal": "none", "action": "follow_up", "follow_up": question}


@dataclass
class LLMServer:
    """The running stand-in: its base URL (``.../v1``), the decisions still to give, the requests received."""

    base_url: str = ""
    decisions: deque[dict[str, Any]] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay_s: float = 0.0
    _server: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reply_for(self, body: dict[str, Any]) -> str:
        schema = (body.get("response_format") or {}).get("json_schema") or {}
        name = schema.get("name")
        if name == "decision":
            return json.dumps(self.decisions.popleft() if self.decisions else MOVE_ON)
        if name == "reflection":
            checks = schema.get("schema", {}).get("properties", {}).get("conditions", {}).get("properties", {})
            return json.dumps({"conditions": {note: {"value": "unknown", "evidence": ""} for note in checks},
                               "facts": []})
        return "I am not sure."


def start_llm_server(*decisions: dict[str, Any]) -> LLMServer:
    """Start the stand-in on a free port in a daemon thread."""
    state = LLMServer(decisions=deque(decisions))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/v1/models":
                self._reply(200, {"object": "list", "data": [{"id": "stand-in", "object": "model"}]})
            else:
                self._reply(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            state.requests.append({"path": self.path, **body})
            if state.delay_s:
                time.sleep(state.delay_s)
            content = state.reply_for(body)
            usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
            if self.path == "/v1/chat/completions":
                self._reply(200, {"id": "chatcmpl-stand-in", "object": "chat.completion", "created": int(time.time()),
                                  "model": body.get("model", "stand-in"), "usage": usage,
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": content}}]})
            elif self.path == "/v1/completions":
                self._reply(200, {"id": "cmpl-stand-in", "object": "text_completion", "created": int(time.time()),
                                  "model": body.get("model", "stand-in"), "usage": usage,
                                  "choices": [{"index": 0, "finish_reason": "stop", "text": content,
                                               "logprobs": None}]})
            else:
                self._reply(404, {"error": {"message": f"no route {self.path}"}})

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state._server = server
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True, name="llm-stand-in").start()
    return state
