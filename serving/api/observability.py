"""Prometheus metrics and structured access logs for the Mini App API, in one pure ASGI middleware.

Requests are labelled by route template (`/api/v1/channels/{channel_id}/overview`), never by raw path, so ids do
not explode the label set; requests that match no route are `unmatched`. The access log is one JSON object per
request on the `analyticbot.api.access` logger: method, route, path, status, duration, user id and client
address; never headers, so neither initData nor anything else the client sent as a credential.
"""

from __future__ import annotations

import json
import logging
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

access_log = logging.getLogger("analyticbot.api.access")


def enable_access_log() -> None:
    """One JSON line per request on stderr, unless logging is already configured (a test's capture, a
    deployment's own handlers); uvicorn's own access log is off (`make api`), this one replaces it."""
    if not access_log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
    if access_log.level == logging.NOTSET:
        access_log.setLevel(logging.INFO)

# Latency buckets around the API's target (p99 under 20 ms), then the slow tail.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """One registry per app, so that tests can build several apps in one process."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("analyticbot_api_requests", "HTTP requests by route, method and status",
                                ("route", "method", "status"), registry=self.registry)
        self.latency = Histogram("analyticbot_api_request_duration_seconds", "Request latency by route",
                                 ("route",), buckets=BUCKETS, registry=self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class AccessLogAndMetrics:
    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            template = getattr(scope.get("route"), "path", None) or "unmatched"
            if template.startswith("/app") or (template == "unmatched" and scope["path"].startswith("/app/")):
                template = "/app"  # the page and its static files: one label
            self.metrics.observe(template, scope["method"], status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                state = scope.get("state") or {}
                access_log.info(json.dumps({
                    "method": scope["method"], "route": template, "path": scope["path"], "status": status,
                    "ms": round(seconds * 1000, 2), "user_id": state.get("user_id"),
                    "client": client[0] if client else None,
                }, separators=(",", ":")))
