"""A stand-in for Prolific's researcher API: a real HTTP server (FastAPI on uvicorn, a free port).

It speaks the paths and JSON shapes ``survey.prolific_api.ProlificClient`` uses, keeps what a study
would see on Prolific (participant groups, messages, submissions, bulk bonus payments), records every
call, and can be told to misbehave on the next matching call:

- ``"429"`` / ``"503"`` (with ``retry_after``): refuse without acting;
- ``"500"``: fail without acting; ``"500_after"``: act, then answer 500 (the answer is lost);
- ``"hang_before"`` / ``"hang_after"``: stop before / after acting until ``release()`` (so a test
  can kill the worker waiting on it); after release the request answers 503 / its normal answer.

``offset`` moves the stand-in's clock like the tests move voxbank's (messages are stamped with it).
``pay_delay_s`` makes a paid bonus show on its submission only after a delay (Prolific pays
asynchronously). Statuses are spelled as Prolific's objects spell them ("AWAITING REVIEW").
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

TOKEN = "standin-token"
RESEARCHER = "5f00000000000000000000aa"
PAGE_SIZE = 2


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Fault:
    """Misbehave on the next ``times`` calls matching ``method`` and the ``path`` pattern."""

    method: str
    path: str
    kind: str
    times: int = 1
    retry_after: str | None = None


@dataclass
class State:
    """What the study looks like on Prolific."""

    groups: dict[str, set[str]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    submissions: dict[str, dict[str, Any]] = field(default_factory=dict)
    bulk_bonuses: dict[str, dict[str, Any]] = field(default_factory=dict)


class ProlificStandIn:
    """The stand-in server; ``url`` once started."""

    def __init__(self) -> None:
        self.state = State()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.pay_delay_s = 0.0
        self.latency_s = 0.0
        self.offset = timedelta(0)
        self.hung = threading.Event()
        self._gate = threading.Event()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = FastAPI()
        self.app.add_api_route("/api/v1/{path:path}", self._handle, methods=["GET", "POST", "DELETE", "PATCH"])

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Serve on a free port; returns the base URL."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="prolific-standin", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Prolific stand-in did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        """Stop serving."""
        self.release()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reset(self) -> None:
        """Forget everything (between tests)."""
        self.release()
        with self._lock:
            self.state = State()
            self.calls.clear()
            self.faults.clear()
            self.pay_delay_s = 0.0
            self.latency_s = 0.0
            self.offset = timedelta(0)
        self.hung.clear()
        self._gate.clear()

    # ------------------------------------------------------------------ test controls

    def fail(self, method: str, path: str, kind: str, *, times: int = 1, retry_after: str | None = None) -> None:
        """Misbehave on the next ``times`` calls to ``method`` on a path matching the regex ``path``."""
        self.faults.append(Fault(method, path, kind, times, retry_after))

    def release(self) -> None:
        """Let hung requests go on."""
        self._gate.set()

    def add_submission(self, submission_id: str, study_id: str, participant: str,
                       status: str = "AWAITING REVIEW") -> None:
        """A submission as Prolific would hold it."""
        self.state.submissions[submission_id] = {
            "id": submission_id, "study_id": study_id, "participant": participant, "status": status,
            "started_at": self.now(), "completed_at": None, "entered_code": None, "bonus_payments": [],
        }

    def count(self, method: str, path: str) -> int:
        """How many calls matched (whatever their answer)."""
        return sum(1 for c in self.calls if c.method == method and re.fullmatch(path, c.path))

    def messages_to(self, participant: str) -> list[dict[str, Any]]:
        """The messages the researcher sent to one participant."""
        return [m for m in self.state.messages if m["recipient_id"] == participant]

    def bonuses_paid(self) -> int:
        """How many times any bulk bonus payment was paid."""
        return sum(b["paid"] for b in self.state.bulk_bonuses.values())

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait until ``predicate()`` holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the stand-in never saw what the test waited for")
            time.sleep(0.05)

    def now(self) -> str:
        """The stand-in's time, ISO 8601."""
        return (datetime.now(UTC) + self.offset).isoformat()

    # ------------------------------------------------------------------ serving

    async def _handle(self, request: Request, path: str) -> Response:
        method = request.method
        full = f"/api/v1/{path}"
        raw = await request.body()
        body = json.loads(raw) if raw else None
        call = Call(method, full, dict(request.query_params), body)
        with self._lock:
            self.calls.append(call)
        if request.headers.get("authorization") != f"Token {TOKEN}":
            call.status = 401
            return JSONResponse({"error": {"detail": "Invalid token."}}, status_code=401)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        fault = self._take_fault(method, full)
        if fault is not None and fault.kind in ("429", "503", "500"):
            call.status = int(fault.kind)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return JSONResponse({"error": {"detail": f"stand-in {fault.kind}"}}, status_code=call.status,
                                headers=headers)
        if fault is not None and fault.kind == "hang_before":
            await self._hang()
            call.status = 503
            return JSONResponse({"error": {"detail": "stand-in hung up"}}, status_code=503)
        with self._lock:
            status, payload = self._dispatch(method, full, dict(request.query_params), body)
        call.status = status
        if fault is not None and fault.kind == "500_after":
            call.status = 500
            return JSONResponse({"error": {"detail": "stand-in 500 after acting"}}, status_code=500)
        if fault is not None and fault.kind == "hang_after":
            await self._hang()
        if status == 204:
            return Response(status_code=204)
        return JSONResponse(payload, status_code=status)

    async def _hang(self) -> None:
        self.hung.set()
        await asyncio.to_thread(self._gate.wait, 120)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method == method and re.fullmatch(fault.path, path) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        s = self.state
        if method == "GET" and path == "/api/v1/users/me/":
            return 200, {"id": RESEARCHER, "name": "Stand-in researcher"}
        if m := re.fullmatch(r"/api/v1/participant-groups/([^/]+)/participants/", path):
            group = s.groups.setdefault(m.group(1), set())
            if method == "POST":
                group.update(body["participant_ids"])
            elif method == "DELETE":
                group.difference_update(body["participant_ids"])
            members = [{"participant_id": p, "datetime_created": self.now()} for p in sorted(group)]
            return 200, _page(members, query, path)
        if path == "/api/v1/messages/":
            if method == "POST":
                missing = [k for k in ("recipient_id", "body", "study_id") if not body.get(k)]
                if missing:
                    return 400, {"error": {"detail": f"missing {missing}"}}
                message = {"id": f"m{next(self._ids)}", "sender_id": RESEARCHER, "recipient_id": body["recipient_id"],
                           "body": body["body"], "sent_at": self.now(), "type": "message",
                           "data": {"study_id": body["study_id"]}}
                s.messages.append(message)
                return 201, message
            since = query.get("created_after", "")
            user = query.get("user_id")
            found = [m for m in s.messages if user in (m["recipient_id"], m["sender_id"]) and m["sent_at"] >= since]
            return 200, {"results": found}
        if m := re.fullmatch(r"/api/v1/submissions/([^/]+)/transition/", path):
            submission = s.submissions.get(m.group(1))
            if submission is None:
                return 404, {"error": {"detail": "Not found."}}
            if body.get("action") == "APPROVE":
                if submission["status"] != "AWAITING REVIEW":
                    return 400, {"error": {"detail": f"cannot approve a submission that is {submission['status']}"}}
                submission["status"] = "APPROVED"
                return 200, submission
            return 400, {"error": {"detail": "unknown action"}}
        m = re.fullmatch(r"/api/v1/submissions/([^/]+)/", path)
        if method == "GET" and m and m.group(1) != "bonus-payments":
            submission = s.submissions.get(m.group(1))
            return (200, submission) if submission else (404, {"error": {"detail": "Not found."}})
        if method == "GET" and path == "/api/v1/submissions/":
            rows = [x for x in s.submissions.values() if x["study_id"] == query.get("study")]
            return 200, _page(rows, query, path)
        if method == "POST" and path == "/api/v1/submissions/bonus-payments/":
            rows = []
            for line in body["csv_bonuses"].strip().splitlines():
                who, amount = line.split(",")
                taken = [x for x in s.submissions.values() if x["study_id"] == body["study_id"]
                         and who in (x["participant"], x["id"])]
                if not taken:
                    return 400, {"error": {"detail": f"{who} did not take part in the study"}}
                rows.append((taken[0]["id"], int(Decimal(amount) * 100)))
            bulk = f"b{next(self._ids)}"
            total = sum(c for _, c in rows)
            s.bulk_bonuses[bulk] = {"study_id": body["study_id"], "rows": rows, "paid": 0}
            return 201, {"id": bulk, "study": body["study_id"], "amount": total, "fees": total // 3, "vat": 0,
                         "total_amount": total + total // 3}
        if method == "POST" and (m := re.fullmatch(r"/api/v1/bulk-bonus-payments/([^/]+)/pay/", path)):
            bulk = s.bulk_bonuses.get(m.group(1))
            if bulk is None:
                return 404, {"error": {"detail": "Not found."}}
            bulk["paid"] += 1
            rows = list(bulk["rows"])

            def settle() -> None:
                with self._lock:
                    for submission_id, cents in rows:
                        s.submissions[submission_id]["bonus_payments"].append(float(cents))

            if self.pay_delay_s:
                threading.Timer(self.pay_delay_s, settle).start()
            else:
                for submission_id, cents in rows:
                    s.submissions[submission_id]["bonus_payments"].append(float(cents))
            return 202, {}
        return 404, {"error": {"detail": f"the stand-in has no {method} {path}"}}


def _page(rows: list[Any], query: dict[str, str], path: str) -> dict[str, Any]:
    page = int(query.get("page", "1"))
    chunk = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    following = None
    if page * PAGE_SIZE < len(rows):
        rest = {**query, "page": str(page + 1)}
        following = {"href": f"{path}?" + "&".join(f"{k}={v}" for k, v in rest.items())}
    return {"results": chunk, "_links": {"next": following}, "meta": {"count": len(rows)}}
