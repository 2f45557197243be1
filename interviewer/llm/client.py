"""The one LLM client: the `openai` package, pointed at any OpenAI-compatible endpoint.

Two ways of asking, because voxbank talks to two kinds of model:

* ``style="completion"`` (the embedded Gemma 3 270M, a *base* model): the prompt is a document
  to continue, sent to ``/v1/completions``; structured replies are constrained by a GBNF grammar
  that llama.cpp's server builds from the JSON schema (``grammar`` in the request body).
* ``style="chat"`` (a strong hosted model): the same document is the user message of
  ``/v1/chat/completions`` and structured replies use ``response_format: json_schema``.

Every call has the timeout from settings, for the whole reply, and no retries: a slow or failed
call is the caller's cue to fall back, never a reason to stall. Replies are streamed, so that a
call given up on is closed and the server stops generating it (llama.cpp's server answers one
request at a time: an abandoned reply would otherwise delay the next). Errors from the `openai`
package are translated here into `LLMError`s that say whether trying again could help
(``retryable``).

A caller that must answer by a fixed moment (the live voice path) wraps its calls in
`reply_deadline`: every call that thread makes inside it ends by then, and one that would start
after it fails at once with `LLMDeadline`, the caller's cue to decide without the model.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import openai

from interviewer import metrics
from interviewer.llm.options import LLMOptions

Style = Literal["completion", "chat"]

# Keywords that only bound a base model's generation (through the grammar); hosted structured
# output rejects some of them, and replies are validated by the caller anyway.
_GRAMMAR_ONLY_KEYWORDS = ("maxLength", "minLength", "maxItems", "minItems")
_CHAT_SYSTEM = "Continue the document the user sends. Reply with the JSON object only."


class LLMError(Exception):
    """An LLM call failed; ``retryable`` says whether the same call might succeed later."""

    retryable = False
    reason = "error"

    def __init__(self, message: str, *, reply: str | None = None) -> None:
        super().__init__(message)
        self.reply = reply
        """What the endpoint sent, when it sent unusable text (personal data: it may quote the participant)."""


class LLMTimeout(LLMError):
    """No reply within the timeout."""

    retryable = True
    reason = "timeout"


class LLMDeadline(LLMTimeout):
    """The caller's deadline (`reply_deadline`) passed before the reply was complete."""

    reason = "deadline"


_deadlines = threading.local()


@contextmanager
def reply_deadline(at: float | None) -> Iterator[None]:
    """Every LLM call this thread makes in the block ends by ``at`` (``time.monotonic()``), or raises
    `LLMDeadline`; None sets no deadline beyond the client's timeout."""
    before = getattr(_deadlines, "at", None)
    _deadlines.at = at
    try:
        yield
    finally:
        _deadlines.at = before


def _seconds_left(timeout_s: float) -> tuple[float, type[LLMTimeout]]:
    """The time a call may take now, and the error to raise when it runs out."""
    at = getattr(_deadlines, "at", None)
    if at is None or at - time.monotonic() >= timeout_s:
        return timeout_s, LLMTimeout
    left = at - time.monotonic()
    if left <= 0:
        raise LLMDeadline("the reply's deadline passed before the call")
    return left, LLMDeadline


class LLMUnavailable(LLMError):
    """The endpoint could not be reached or answered with a server error."""

    retryable = True
    reason = "unavailable"


class LLMBadReply(LLMError):
    """The endpoint answered, but not with a usable reply (empty, malformed, refused request)."""

    reason = "bad_reply"


@dataclass(frozen=True)
class Completion:
    """One reply: its text, the parsed JSON where one was asked for, and how long it took."""

    text: str
    latency_ms: float
    prompt_chars: int
    data: dict[str, Any] | None = None


class LLMClient:
    """Ask an OpenAI-compatible endpoint for text or schema-constrained JSON."""

    def __init__(self, *, base_url: str, model: str, api_key: str | None, timeout_s: float,
                 style: Style = "chat", embedded: bool = False) -> None:
        self.base_url = base_url
        self.model = model
        self.timeout_s = timeout_s
        self.style: Style = style
        self.embedded = embedded
        # A local server needs no key, but the package insists on one.
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed",
                                     timeout=timeout_s, max_retries=0)

    @property
    def endpoint(self) -> str:
        """The kind of endpoint, for provenance: ``embedded``, ``llama.cpp`` or ``openai-compatible``."""
        if self.embedded:
            return "embedded"
        return "llama.cpp" if self.style == "completion" else "openai-compatible"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def served_models(self) -> list[str]:
        """The model ids the endpoint serves (``GET /models``); raises `LLMError` when it cannot be asked."""
        with _translated_errors():
            models = self._client.models.list(timeout=min(self.timeout_s, 5.0))
        return [model.id for model in models.data]

    def complete_json(self, prompt: str, schema: dict[str, Any], *, name: str, max_tokens: int = 200,
                      temperature: float = 0.3, seed: int | None = 0) -> Completion:
        """Continue ``prompt`` with one JSON object that matches ``schema``.

        Sampled at a low temperature with a fixed ``seed``, so that the same prompt gets the same
        decision (also after a resume) without the loops greedy decoding falls into on small models.

        Raises `LLMBadReply` when the reply is empty or not a JSON object; whether the object has
        the right *content* is for the caller to check.
        """
        started = time.perf_counter()
        if self.style == "completion":
            text = self._complete(prompt, max_tokens=max_tokens, temperature=temperature, seed=seed,
                                  extra={"grammar": gbnf_for(json.dumps(schema))})
        else:
            response_format = {"type": "json_schema",
                               "json_schema": {"name": name, "schema": _for_chat(schema), "strict": True}}
            text = self._chat(prompt, max_tokens=max_tokens, temperature=temperature, seed=seed,
                              response_format=response_format)
        latency_ms = (time.perf_counter() - started) * 1000
        metrics.LLM_LATENCY.labels(kind="json").observe(latency_ms / 1000)
        return Completion(text=text, latency_ms=latency_ms, prompt_chars=len(prompt), data=_parse_object(text))

    def complete_text(self, prompt: str, *, max_tokens: int = 200, temperature: float = 0.8,
                      stop: list[str] | None = None, repeat_penalty: float | None = None) -> Completion:
        """Continue ``prompt`` with free text (used by simulated participants)."""
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        if repeat_penalty is not None and self.style == "completion":
            extra["repeat_penalty"] = repeat_penalty
        if self.style == "completion":
            text = self._complete(prompt, max_tokens=max_tokens, temperature=temperature, stop=stop, extra=extra)
        else:
            text = self._chat(prompt, max_tokens=max_tokens, temperature=temperature, stop=stop,
                              system="Continue the document the user sends with the next line only.")
        latency_ms = (time.perf_counter() - started) * 1000
        metrics.LLM_LATENCY.labels(kind="text").observe(latency_ms / 1000)
        return Completion(text=text, latency_ms=latency_ms, prompt_chars=len(prompt))

    def _complete(self, prompt: str, *, max_tokens: int, temperature: float, stop: list[str] | None = None,
                  seed: int | None = None, extra: dict[str, Any] | None = None) -> str:
        seconds, late = _seconds_left(self.timeout_s)
        deadline = time.monotonic() + seconds
        with _translated_errors(late):
            stream = self._client.completions.create(
                model=self.model, prompt=prompt, max_tokens=max_tokens, temperature=temperature,
                stop=stop if stop else openai.omit, seed=seed if seed is not None else openai.omit,
                extra_body=extra or None, stream=True, timeout=seconds)
            return _collect(stream, deadline, lambda chunk: chunk.choices[0].text if chunk.choices else "", late)

    def _chat(self, prompt: str, *, max_tokens: int, temperature: float, stop: list[str] | None = None,
              seed: int | None = None, response_format: dict[str, Any] | None = None,
              system: str = _CHAT_SYSTEM) -> str:
        seconds, late = _seconds_left(self.timeout_s)
        deadline = time.monotonic() + seconds
        with _translated_errors(late):
            stream = self._client.chat.completions.create(
                model=self.model, max_tokens=max_tokens, temperature=temperature,
                seed=seed if seed is not None else openai.omit,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                stop=stop if stop else openai.omit,
                response_format=response_format if response_format else openai.omit,  # type: ignore[arg-type]
                stream=True, timeout=seconds)
            return _collect(stream, deadline,
                            lambda chunk: (chunk.choices[0].delta.content or "") if chunk.choices else "", late)


def _collect(stream: Any, deadline: float, text_of: Any, late: type[LLMTimeout] = LLMTimeout) -> str:
    """Join a streamed reply, giving up at ``deadline`` (the client's timeout bounds each wait, this
    the whole reply). Closing the stream early tells a llama.cpp server to stop generating, so an
    abandoned reply does not hold up the next request."""
    parts: list[str] = []
    with stream:
        for chunk in stream:
            parts.append(text_of(chunk))
            if time.monotonic() > deadline:
                raise late("no complete reply within the timeout")
    return "".join(parts)


@contextmanager
def _translated_errors(late: type[LLMTimeout] = LLMTimeout) -> Iterator[None]:
    """Turn the `openai` package's exceptions into `LLMError`s (the boundary of STYLE rule 7); a
    timeout becomes ``late`` (`LLMDeadline` when the caller's deadline was the shorter)."""
    try:
        yield
    except openai.APITimeoutError as error:
        raise late("no reply within the timeout") from error
    except openai.APIConnectionError as error:
        raise LLMUnavailable("the LLM endpoint cannot be reached") from error
    except openai.APIStatusError as error:
        if error.status_code >= 500 or error.status_code == 429:
            raise LLMUnavailable(f"the LLM endpoint answered {error.status_code}") from error
        raise LLMBadReply(f"the LLM endpoint refused the request ({error.status_code})") from error
    except (openai.APIResponseValidationError, ValueError) as error:
        raise LLMBadReply("the LLM endpoint sent a reply that cannot be read") from error
    except openai.OpenAIError as error:
        raise LLMError("the LLM call failed") from error


def _parse_object(text: str) -> dict[str, Any]:
    stripped = text.strip()
    if not stripped:
        raise LLMBadReply("the reply is empty")
    try:
        # strict=False: a small model under llama.cpp's grammar writes raw newlines inside strings;
        # the object is still whole, and what the strings may hold is for the caller to check.
        value = json.loads(stripped, strict=False)
    except json.JSONDecodeError:
        raise LLMBadReply("the reply is not valid JSON", reply=text) from None
    if not isinstance(value, dict):
        raise LLMBadReply("the reply is JSON but not an object", reply=text)
    return value


def _for_chat(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {key: _for_chat(value) for key, value in schema.items() if key not in _GRAMMAR_ONLY_KEYWORDS}
    if isinstance(schema, list):
        return [_for_chat(value) for value in schema]
    return schema


@lru_cache(maxsize=32)
def gbnf_for(schema_json: str) -> str:
    """The llama.cpp grammar (GBNF) that makes a model's output match a JSON schema.

    Properties are generated in the schema's order, so a schema can put reasoning before the
    decision it supports.
    """
    from llama_cpp.llama_grammar import json_schema_to_gbnf  # the local-voice extra; only the embedded path

    order: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if name not in order:
                    order.append(name)
                collect(sub)
            for key in ("items", "additionalProperties"):
                collect(node.get(key))

    collect(json.loads(schema_json))
    return str(json_schema_to_gbnf(schema_json, prop_order=order))


LLAMA_CPP_OWNERS = ("me", "llamacpp")
"""``owned_by`` in ``/v1/models`` of llama-cpp-python's server ("me") and of llama.cpp's own ("llamacpp")."""


def detect_style(client: LLMClient) -> Style:
    """``completion`` for a llama.cpp server (it takes a grammar), ``chat`` for anything else."""
    try:
        with _translated_errors():
            models = client._client.models.list(timeout=min(client.timeout_s, 5.0))
        owners = {getattr(model, "owned_by", None) for model in models.data}
    except LLMError:
        return "chat"
    return "completion" if owners & set(LLAMA_CPP_OWNERS) else "chat"


def client_for(options: LLMOptions, *, base_url: str | None = None, style: Style | None = None) -> LLMClient:
    """The client for the configured endpoint, or for ``base_url`` (the embedded server's).

    Without ``style``: the embedded server gets ``completion`` (its model is a base model); a
    configured endpoint gets ``completion`` when it is a llama.cpp server and ``chat`` otherwise.
    """
    url = base_url or options.base_url
    if url is None:
        raise ValueError("no LLM endpoint: set VOXBANK_LLM_BASE_URL or start the embedded server")
    client = LLMClient(base_url=url, model=options.model, api_key=options.api_key, timeout_s=options.timeout_s,
                       style=style or "completion", embedded=base_url is not None)
    if style is None and base_url is None:
        client.style = detect_style(client)
    return client
