"""Limits against unauthenticated exhaustion: request body size, and request rates.

`BodySizeLimit` is pure ASGI middleware: it refuses a body whose ``Content-Length`` is over the
limit before reading a byte, and counts the bytes of a streamed (chunked) body as they arrive,
answering 413 the moment the count passes the limit. Nothing downstream (form parser, JSON
parser, webhook signature check) ever holds more than the limit.

`RateLimit` counts requests with the ``limits`` package (moving window), keyed by what the caller
names: the client address, a Prolific id, a participant. Counters live where
``VOXBANK_RATE_LIMIT_STORAGE_URL`` says (per process by default; Redis to share them between
processes). Over the limit is `TooManyRequests` (429 with ``Retry-After``).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from survey.errors import SurveyError


class TooManyRequests(SurveyError):
    """Too many requests from one address or for one participant in the window."""

    status = 429
    title = "Too many requests"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BodyTooLarge(Exception):
    """Raised inside the app's ``receive`` when a streamed body passes the limit."""


def body_too_large(error: BaseException) -> bool:
    """Whether ``error`` is (or, raised through a task group, holds) `BodyTooLarge`."""
    if isinstance(error, BodyTooLarge):
        return True
    return isinstance(error, BaseExceptionGroup) and error.subgroup(BodyTooLarge) is not None


class BodySizeLimit:
    """ASGI middleware: no request body over ``max_bytes`` is read, on any route."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, smaller: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.smaller = smaller or {}
        """Lower limits for paths ending in these suffixes (the webhook, the WebRTC offer)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = min([self.max_bytes, *(n for suffix, n in self.smaller.items() if path.endswith(suffix))])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(send, limit)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BaseException as error:
            if not body_too_large(error):
                raise
            if not started:
                await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        body = json.dumps({"error": "Request too large",
                           "detail": f"The request body is larger than {limit} bytes; nothing was read "
                                     "or saved."}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class RateLimit:
    """Named rate limits (``{"entry": "20/minute", ...}``) over one counter store."""

    def __init__(self, limits: dict[str, str], storage_url: str) -> None:
        self._limits = {name: parse(text) for name, text in limits.items()}
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url))

    def hit(self, name: str, *keys: Any) -> None:
        """Count one request of kind ``name`` for each key; `TooManyRequests` when any key is over its limit."""
        item = self._limits[name]
        for key in keys:
            if key is None:
                continue
            if not self._limiter.hit(item, name, str(key)):
                reset = self._limiter.get_window_stats(item, name, str(key)).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                raise TooManyRequests(f"Too many requests; please wait {wait} seconds and try again. "
                                      "Nothing was saved.", retry_after_s=wait)
