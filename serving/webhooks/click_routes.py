"""`POST /webhooks/click/prepare` and `/webhooks/click/complete`: Click SHOP-API. Always HTTP 200; Click reads
the `error` field of the JSON answer."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from analyticbot.payments.click import COMPLETE, PREPARE, failure, handle_complete, handle_prepare
from analyticbot.payments.ledger import utcnow

router = APIRouter()
log = logging.getLogger(__name__)


@router.post("/webhooks/click/prepare")
async def click_prepare(request: Request) -> JSONResponse:
    return await _answer(request, PREPARE)


@router.post("/webhooks/click/complete")
async def click_complete(request: Request) -> JSONResponse:
    return await _answer(request, COMPLETE)


async def _answer(request: Request, action: int) -> JSONResponse:
    # The raw body, not a form parser: the signature is over the strings exactly as Click sent them.
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
    now = utcnow()
    handler = handle_prepare if action == PREPARE else handle_complete

    def handle():
        settings = request.app.state.settings
        service_id, secret_key = settings.require("click_service_id"), settings.require("click_secret_key")
        with request.app.state.store.transaction() as session:
            return handler(session, form, service_id=service_id, secret_key=secret_key, now=now)

    try:
        answer = await run_in_threadpool(handle)
    except Exception:  # noqa: BLE001 - rolled back; -7 tells Click we did not take the payment
        log.exception("click %s failed", "prepare" if action == PREPARE else "complete")
        answer = failure(form, action)
    if answer["error"] != 0:
        log.info("click %s answered %s", "prepare" if action == PREPARE else "complete", answer["error"])
    return JSONResponse(answer)
