"""A stand-in for an OpenAI-compatible embedding service: ``POST /v1/embeddings`` on 127.0.0.1.

It answers exactly as the OpenAI API does (``{"object": "list", "data": [{"object": "embedding",
"index": i, "embedding": [...]}], "model": ..., "usage": {...}}``) with deterministic vectors made
from each input's sha256, as long as the named model's real ones (``tests.llm_stand_in``), and
records every request so tests can check what was sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.llm_stand_in import embedding_vector

DIMENSIONS = 1536  # text-embedding-3-small's, the model the agent bank tests ask for


def fake_vector(text: str, model: str = "text-embedding-3-small") -> list[float]:
    """A unit vector determined by the text, as long as the model's real vectors."""
    return embedding_vector(text, model)


@dataclass
class EmbeddingServer:
    """The running stand-in: its base URL (``.../v1``) and the requests it received."""

    base_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def start_embedding_server() -> EmbeddingServer:
    """Start the stand-in on a free port in a daemon thread."""
    state = EmbeddingServer(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if self.path != "/v1/embeddings":
                self._reply(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            state.requests.append({"model": body.get("model"), "input": inputs,
                                   "authorization": self.headers.get("Authorization")})
            data = [{"object": "embedding", "index": i, "embedding": fake_vector(text, body.get("model", ""))}
                    for i, text in enumerate(inputs)]
            tokens = sum(len(text.split()) for text in inputs)
            self._reply(200, {"object": "list", "data": data, "model": body.get("model"),
                              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state._server = server
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state
