"""`POST /webhooks/stripe`: verified, deduplicated by event id, any order, both API shapes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from analyticbot.payments.stripe_events import InvalidSignature, receive_webhook
from analyticbot.settings import ConfigError

router = APIRouter()
log = logging.getLogger(__name__)


@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request) -> JSONResponse:
    body = await request.body()
    try:
        secret = request.app.state.settings.require("stripe_webhook_secret")
    except ConfigError as exc:
        # Our misconfiguration, not the sender's: 500 makes Stripe retry, so nothing is lost once it is set.
        log.error("stripe webhook refused: %s", exc)
        return JSONResponse({"error": str(exc)}, status_code=500)
    signature = request.headers.get("stripe-signature")

    def handle():
        with request.app.state.store.transaction() as session:
            return receive_webhook(session, body, signature, secret)

    try:
        outcome = await run_in_threadpool(handle)
    except InvalidSignature as exc:
        # Nothing was stored: the transaction never started writing. Stripe shows this text in its dashboard.
        return JSONResponse({"error": f"invalid signature: {exc}"}, status_code=400)
    if outcome.status == "quarantined":
        log.warning("stripe event %s quarantined: %s", outcome.event_id, outcome.reason)
    # 200 for quarantined too: the event is kept with its reason, and a retry would not change the answer.
    return JSONResponse({"received": True, "status": outcome.status, "event_id": outcome.event_id})
