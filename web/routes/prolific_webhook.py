"""``POST /prolific/webhook``: Prolific's submission status changes, signed, recorded once.

Subscribe it on Prolific (``POST /api/v1/hooks/subscriptions/`` with ``event_type``
``submission.status.change`` and this URL as ``target_url``) and set the subscription's secret as
``VOXBANK_PROLIFIC_WEBHOOK_SECRET``. Prolific's confirmation request carries ``X-Hook-Secret``; it is
echoed back, as the resthooks handshake asks. Everything else must carry a good signature (401
otherwise) and is handled by ``survey.prolific_api.webhooks``; an answer is always quick, and a
delivery already seen is acknowledged without being recorded again.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from storage import audit
from storage.models import AuditEvent
from storage.text import is_storable
from survey.journey import Journey
from survey.prolific_api.webhooks import (
    SUBMISSION_STATUS_CHANGE,
    StatusEvent,
    WebhookNotConfigured,
    WebhookRefused,
    record_status,
    verify,
)
from web.deps import RateLimitDep, SessionDep, SettingsDep, client_address

router = APIRouter(prefix="/prolific")


MAX_BODY_BYTES = 65_536
HANDSHAKE = "prolific.webhook_handshake"


async def raw_body(request: Request, limit: RateLimitDep) -> bytes:
    """The request body exactly as sent (the signature covers these bytes); refused when oversized.

    ``web.limits.BodySizeLimit`` stops reading at the webhook's limit; this is the second guard.
    """
    limit.hit("webhook", client_address(request))
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRefused(f"Refused: the body is larger than {MAX_BODY_BYTES} bytes.")
    return body


HOOK_SECRET = re.compile(r"[A-Za-z0-9_\-]{8,128}")


def _handshake(session: SessionDep, hook_secret: str) -> Response:
    """Echo a subscription handshake; audit it once per hook secret, and only a well-formed one.

    The handshake is unauthenticated by design (it is how the subscription proves the address), so
    anyone may send one: a malformed secret is refused, and a secret already recorded (by its hash,
    never the secret itself) is echoed without another audit row.
    """
    if not HOOK_SECRET.fullmatch(hook_secret):
        raise WebhookRefused("Refused: X-Hook-Secret is not a hook secret (8 to 128 letters, digits, - or _).")
    digest = hashlib.sha256(hook_secret.encode()).hexdigest()
    seen = session.scalars(select(AuditEvent.details).where(AuditEvent.action == HANDSHAKE,
                                                            AuditEvent.target == "prolific_webhook"))
    if not any(details.get("secret_sha256") == digest for details in seen):
        audit.record(session, "system:prolific", HANDSHAKE, "prolific_webhook", {"secret_sha256": digest})
        session.commit()
    return JSONResponse({"outcome": "handshake"}, headers={"X-Hook-Secret": hook_secret})


def _journey(request: Request) -> Journey:
    journey = getattr(request.app.state, "journey", None)
    if journey is None:
        raise WebhookNotConfigured("The study is not loaded yet; try again shortly.")
    return journey  # type: ignore[no-any-return]


@router.post("/webhook")
def prolific_webhook(request: Request, session: SessionDep, settings: SettingsDep,
                     body: Annotated[bytes, Depends(raw_body)]) -> Response:
    """Verify and record one delivery; answer 200 with what became of it."""
    headers = request.headers
    signature = headers.get("X-Prolific-Request-Signature")
    hook_secret = headers.get("X-Hook-Secret")
    if hook_secret and not signature:
        return _handshake(session, hook_secret)
    secret = settings.prolific_webhook_secret
    if secret is None:
        raise WebhookNotConfigured("Set VOXBANK_PROLIFIC_WEBHOOK_SECRET to the webhook subscription's secret.")
    problem = verify(secret.get_secret_value(), headers.get("X-Prolific-Request-Timestamp"), body, signature)
    if problem:
        raise WebhookRefused(f"Refused: {problem}.")
    try:
        payload = json.loads(body or b"{}")
        if not isinstance(payload, dict):
            raise ValueError("the body is not a JSON object")
        if not all(is_storable(str(value)) for value in (*payload.keys(), *payload.values())):
            raise ValueError("the body holds text that cannot be stored (a NUL or an unpaired surrogate)")
        if payload.get("event_type", SUBMISSION_STATUS_CHANGE) != SUBMISSION_STATUS_CHANGE:
            return JSONResponse({"outcome": "ignored"})
        signed_at = datetime.fromtimestamp(float(headers["X-Prolific-Request-Timestamp"]), UTC)
        event = StatusEvent.from_delivery(payload, headers.get("X-Event-ID"), headers.get("X-Timestamp"),
                                          signed_at=signed_at, body=body)
    except ValueError as error:
        raise WebhookRefused(f"Refused: {error}.") from None
    outcome = record_status(session, _journey(request).study_id, event)
    session.commit()
    return JSONResponse({"outcome": outcome})
