"""`POST /webhooks/payme`: Payme's merchant JSON-RPC. Always HTTP 200; the outcome is in the JSON-RPC body."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from analyticbot.payments.payme import handle_payme, system_error

router = APIRouter()
log = logging.getLogger(__name__)


@router.post("/webhooks/payme")
async def payme_webhook(request: Request) -> JSONResponse:
    body = await request.body()
    authorization = request.headers.get("authorization")
    now_ms = int(time.time() * 1000)

    def handle():
        merchant_key = request.app.state.settings.require("payme_merchant_key")
        with request.app.state.store.transaction() as session:
            return handle_payme(session, body, authorization, merchant_key, now_ms)

    try:
        answer = await run_in_threadpool(handle)
    except Exception:  # noqa: BLE001 - rolled back; Payme retries a system error, and it reads only the body
        log.exception("payme request failed")
        answer = system_error(body)
    if "error" in answer:
        log.info("payme answered %s", answer["error"]["code"])
    return JSONResponse(answer)
