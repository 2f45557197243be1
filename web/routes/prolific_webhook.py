"""``POST /prolific/webhook``: Prolific's submission status changes, signed, recorded once.

Subscribe it on Prolific (``POST /api/v1/hooks/subscriptions/`` with ``event_type``
``submission.status.change`` and this URL as ``target_url``) and set the subscription's secret as
``VOXBANK_PROLIFIC_WEBHOOK_SECRET``. Prolific's confirmation request carries ``X-Hook-Secret``; it is
echoed back, as the resthooks handshake asks. Everything else must carry a good signature (401
otherwise) and is handled by ``survey.prolific_api.webhooks``; an answer is always quick, and a
delivery already seen is acknowledged without being recorded again.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from storage import audit
from survey.journey import Journey
from survey.prolific_api.webhooks import (
    SUBMISSION_STATUS_CHANGE,
    StatusEvent,
    WebhookNotConfigured,
    WebhookRefused,
    record_status,
    verify,
)
from web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/prolific")


MAX_BODY_BYTES = 65_536


async def raw_body(request: Request) -> bytes:
    """The request body exactly as sent (the signature covers these bytes); refused when oversized."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRefused(f"Refused: the body is larger than {MAX_BODY_BYTES} bytes.")
    return body


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
        audit.record(session, "system:prolific", "prolific.webhook_handshake", "prolific_webhook", {})
        session.commit()
        return JSONResponse({"outcome": "handshake"}, headers={"X-Hook-Secret": hook_secret})
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
        if payload.get("event_type", SUBMISSION_STATUS_CHANGE) != SUBMISSION_STATUS_CHANGE:
            return JSONResponse({"outcome": "ignored"})
        event = StatusEvent.from_delivery(payload, headers.get("X-Event-ID"), headers.get("X-Timestamp"))
    except ValueError as error:
        raise WebhookRefused(f"Refused: {error}.") from None
    outcome = record_status(session, _journey(request).study_id, event)
    session.commit()
    return JSONResponse({"outcome": outcome})
