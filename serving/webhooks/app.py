"""The webhook app: one route per gateway protocol, one operational-store transaction per request.

The routes only translate HTTP to the protocol functions in `analyticbot.payments` and back; every decision
(signature, dedupe, state machine, error codes) lives there, where the demo history and the tests use it too."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from analyticbot.appstore.db import AppStore
from analyticbot.settings import Settings, get_settings
from serving.webhooks import click_routes, payme_routes, stripe_routes


WORKER_THREADS = 8


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Store work runs in worker threads. Python runs one at a time, so beyond a few threads more only
        # contend (40, anyio's default, halved PostgreSQL throughput under load); extra requests wait in the
        # event loop, which costs nothing.
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        app.state.settings = settings or get_settings()
        app.state.store = AppStore(app.state.settings)
        try:
            yield
        finally:
            app.state.store.dispose()

    app = FastAPI(title="AnalyticBot payment webhooks", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)  # gateways need no docs page; nothing here is for browsers
    app.include_router(stripe_routes.router)
    app.include_router(payme_routes.router)
    app.include_router(click_routes.router)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()
