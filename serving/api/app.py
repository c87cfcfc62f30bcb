"""The Mini App API: read-only JSON over the published snapshot, for the channel owner who opened it.

Every `/api/v1` route but health takes `Authorization: tma <initData>` (`serving.api.auth`). A channel that is
not the caller's, and one that does not exist, get the same 404, so channel ids cannot be probed. Answers are
computed once per snapshot version (`serving.api.responses`), carry an `ETag`, and honour `If-None-Match`;
a new snapshot is noticed within `api_version_ttl` seconds, without a restart, and a request that started on
the previous snapshot finishes on it (its file stays until newer ones replace it, `analyticbot.snapshot.KEEP`).

The app opens read-only connections only: DuckDB snapshot files with `read_only=True`, PostgreSQL sessions with
`default_transaction_read_only=on`. It writes nothing anywhere.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

import anyio
from fastapi import FastAPI, Header, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.concurrency import run_in_threadpool

from analyticbot import channel_reads as reads
from analyticbot.settings import Settings, get_settings
from analyticbot.snapshot import SnapshotReader, SnapshotUnavailable
from serving.api import schemas
from serving.api.auth import InitDataError, WebAppCaller, caller_from_header, secret_key
from serving.api.observability import AccessLogAndMetrics, Metrics, enable_access_log
from serving.api.ratelimit import RateLimiter, retry_after_header
from serving.api.responses import AnswerCache, etag_for, etag_matches

STATIC_DIR = Path(__file__).resolve().parent / "static"
API = "/api/v1"
CHANNEL_ID_MAX = 2**63 - 1  # Telegram ids fit a signed 64-bit integer; larger numbers are not channels
WORKER_THREADS = 8          # snapshot reads run in threads; Python runs one at a time, more only contend
JSON = "application/json"



class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None):
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


def _error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


NOT_FOUND = ("not_found", "channel not found")
ERRORS = {
    400: {"model": schemas.ErrorBody, "description": "a parameter is malformed or out of range"},
    401: {"model": schemas.ErrorBody, "description": "missing, malformed, forged or expired initData"},
    404: {"model": schemas.ErrorBody, "description": "no such channel among the caller's"},
    429: {"model": schemas.ErrorBody, "description": "too many requests; see Retry-After"},
    503: {"model": schemas.ErrorBody, "description": "no snapshot has been published yet"},
}
AuthHeader = Annotated[str | None, Header(alias="Authorization", description="tma <initData>")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
ChannelId = Annotated[int, PathParam(ge=1, le=CHANNEL_ID_MAX)]


class Snapshots:
    """The newest published version, re-read at most every `ttl` seconds (a file read on DuckDB, a query on
    PostgreSQL: neither belongs on every request), and reads on a given version through the app's one
    `SnapshotReader`, which keeps a read-only connection per DuckDB snapshot version open (the bot shares that
    code: `analyticbot.snapshot`)."""

    def __init__(self, settings: Settings, ttl: float):
        self.reader = SnapshotReader(settings)
        self.ttl = ttl
        self._version: str | None = None
        self._checked = -1e9
        self._published_at: dict[str, datetime] = {}

    def version(self) -> str | None:
        now = time.monotonic()
        if now - self._checked >= self.ttl:
            self._version = self.reader.current_version()
            self._checked = now
        return self._version

    def run(self, version: str, work: Callable[[Any], Any]) -> Any:
        with self.reader.connect(version) as con:
            return work(con)

    def close(self) -> None:
        self.reader.close()

    def published_at(self, version: str) -> datetime | None:
        if version not in self._published_at:
            rows = self.run(version, lambda con: con.query(
                "SELECT published_at FROM meta.snapshot" if con.duck is not None else
                "SELECT published_at FROM meta.publications WHERE version = ?",
                None if con.duck is not None else [version]).to_dicts())
            self._published_at = {version: rows[0]["published_at"] if rows else None}
        return self._published_at[version]


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        s = settings or get_settings()
        app.state.settings = s
        app.state.key = secret_key(s.require("bot_token"))
        app.state.snapshots = Snapshots(s, s.api_version_ttl)
        app.state.answers = AnswerCache()
        app.state.limiter = RateLimiter(s.api_rate_per_second, s.api_rate_burst)
        enable_access_log()
        try:
            yield
        finally:
            app.state.snapshots.close()

    metrics = Metrics()
    app = FastAPI(
        title="AnalyticBot Mini App API", version="1", lifespan=lifespan,
        description="Read-only numbers of the caller's Telegram channels, from the published snapshot. "
                    "Authenticate with `Authorization: tma <initData>` (Telegram.WebApp.initData).",
    )
    app.state.metrics = metrics
    app.add_middleware(AccessLogAndMetrics, metrics=metrics)

    # -- errors: short JSON, never a stack trace or another user's data --------------------------------------
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "header"))
        return _error(400, "bad_request", f"{where}: {first.get('msg', 'invalid')}"[:200])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        detail = "no such route" if exc.status_code == 404 else str(exc.detail)[:200]
        return _error(exc.status_code, error, detail, getattr(exc, "headers", None))

    @app.exception_handler(SnapshotUnavailable)
    async def unavailable(request: Request, exc: SnapshotUnavailable):
        return _error(503, "unavailable", "no snapshot has been published yet", {"Retry-After": "30"})

    # -- the request pipeline: caller, limit, snapshot, ownership, cached answer ------------------------------
    def caller(request: Request, authorization: str | None) -> WebAppCaller:
        s: Settings = request.app.state.settings
        try:
            who = caller_from_header(authorization, key=request.app.state.key,
                                     max_age=s.api_init_data_max_age)
        except InitDataError as exc:
            raise ApiError(401, "unauthorized", str(exc), {"WWW-Authenticate": "tma"}) from None
        request.state.user_id = who.user_id  # for the access log
        wait = request.app.state.limiter.take(who.user_id)
        if wait > 0:
            raise ApiError(429, "rate_limited", "too many requests; slow down",
                           {"Retry-After": retry_after_header(wait)})
        return who

    def current_version(request: Request) -> str:
        version = request.app.state.snapshots.version()
        if version is None:
            raise SnapshotUnavailable("no snapshot")
        return version

    async def cached(request: Request, version: str, key: str, work: Callable[[Any], Any]) -> Any:
        snaps: Snapshots = request.app.state.snapshots
        return await request.app.state.answers.get(version, key,
                                                   lambda: run_in_threadpool(snaps.run, version, work))

    async def owned_channel(request: Request, who: WebAppCaller, version: str, channel_id: int) -> dict:
        owned = await cached(request, version, f"owned:{who.user_id}",
                             lambda con: reads.owned_channels(con, who.user_id))
        ch = owned.get(channel_id)
        if ch is None:
            raise ApiError(404, *NOT_FOUND)
        return ch

    async def answer(request: Request, version: str, key: str, if_none_match: str | None,
                     build: Callable[[Any], Any], model: type) -> Response:
        etag = etag_for(version, key)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
        if etag_matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)

        def body(con) -> bytes | None:
            value = build(con)
            return None if value is None else model.model_validate(value).model_dump_json().encode()

        data = await cached(request, version, key, body)
        if data is None:
            raise ApiError(404, "not_found", "post not found")
        return Response(data, media_type=JSON, headers=headers)

    async def channel_answer(request: Request, authorization: str | None, if_none_match: str | None,
                             channel_id: int, key: str, build: Callable[[Any, dict], Any], model: type) -> Response:
        who = caller(request, authorization)
        version = current_version(request)
        ch = await owned_channel(request, who, version, channel_id)
        return await answer(request, version, f"{channel_id}:{key}", if_none_match, lambda con: build(con, ch), model)

    # -- routes ---------------------------------------------------------------------------------------------------
    @app.get(f"{API}/health", response_model=schemas.Health, tags=["meta"],
             responses={503: ERRORS[503]})
    async def health(request: Request):
        snaps: Snapshots = request.app.state.snapshots
        version = snaps.version()
        if version is None:
            return JSONResponse({"status": "unavailable", "snapshot_version": None, "published_at": None,
                                 "age_seconds": None}, status_code=503)
        published = await run_in_threadpool(snaps.published_at, version)
        age = (datetime.utcnow() - published).total_seconds() if published else None
        return {"status": "ok", "snapshot_version": version, "published_at": published, "age_seconds": age}

    @app.get(f"{API}/me/channels", response_model=schemas.MyChannels, tags=["channels"],
             responses={k: ERRORS[k] for k in (401, 429, 503)})
    async def my_channels(request: Request, authorization: AuthHeader = None, if_none_match: IfNoneMatch = None):
        who = caller(request, authorization)
        version = current_version(request)
        return await answer(request, version, f"me:{who.user_id}", if_none_match, lambda con: {
            "user_id": who.user_id, "snapshot_version": version, "channels": reads.my_channels(con, who.user_id)},
            schemas.MyChannels)

    @app.get(f"{API}/channels/{{channel_id}}/overview", response_model=schemas.Overview, tags=["channels"],
             responses=ERRORS)
    async def overview(request: Request, channel_id: ChannelId,
                       days: Annotated[int, Query(ge=1, le=reads.MAX_DAYS)] = 30,
                       authorization: AuthHeader = None, if_none_match: IfNoneMatch = None):
        return await channel_answer(request, authorization, if_none_match, channel_id, f"overview:{days}",
                                    lambda con, ch: reads.overview(con, ch, days), schemas.Overview)

    @app.get(f"{API}/channels/{{channel_id}}/posts", response_model=schemas.PostPage, tags=["posts"],
             responses=ERRORS)
    async def posts(request: Request, channel_id: ChannelId,
                    sort: Literal[reads.POST_SORTS] = "views_24h",  # type: ignore[valid-type]
                    order: Literal["asc", "desc"] = "desc",
                    limit: Annotated[int, Query(ge=1, le=reads.MAX_LIMIT)] = 20,
                    cursor: Annotated[str | None, Query(max_length=512)] = None,
                    authorization: AuthHeader = None, if_none_match: IfNoneMatch = None):
        if cursor is not None:
            try:
                reads.decode_cursor(cursor, sort, order)
            except reads.BadCursor as exc:
                raise ApiError(400, "bad_request", f"cursor: {exc}") from None
        return await channel_answer(
            request, authorization, if_none_match, channel_id, f"posts:{sort}:{order}:{limit}:{cursor or ''}",
            lambda con, ch: reads.posts_page(con, ch, sort=sort, order=order, limit=limit, cursor=cursor),
            schemas.PostPage)

    @app.get(f"{API}/channels/{{channel_id}}/posts/{{message_id}}", response_model=schemas.PostDetail,
             tags=["posts"], responses=ERRORS)
    async def post(request: Request, channel_id: ChannelId,
                   message_id: Annotated[int, PathParam(ge=1, le=CHANNEL_ID_MAX)],
                   authorization: AuthHeader = None, if_none_match: IfNoneMatch = None):
        return await channel_answer(request, authorization, if_none_match, channel_id, f"post:{message_id}",
                                    lambda con, ch: reads.post_detail(con, ch, message_id), schemas.PostDetail)

    def channel_view(route: str, build: Callable[[Any, dict], Any], model: type, summary: str) -> None:
        """A route that answers one whole view of a channel (no parameters beyond the channel)."""
        async def view(request: Request, channel_id: ChannelId, authorization: AuthHeader = None,
                       if_none_match: IfNoneMatch = None):
            return await channel_answer(request, authorization, if_none_match, channel_id, route, build, model)

        app.get(f"{API}/channels/{{channel_id}}/{route}", response_model=model, tags=["timing"], responses=ERRORS,
                summary=summary, operation_id=route.replace("-", "_"))(view)

    channel_view("heatmap", reads.heatmap, schemas.Heatmap, "Posts and reach by weekday x hour")
    channel_view("best-times", reads.best_times, schemas.BestTimes, "The best hours to post (model output)")
    channel_view("forecast", reads.forecast, schemas.Forecast, "Subscribers and daily reach, 30 days ahead")

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics():
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    # -- the Mini App page ----------------------------------------------------------------------------------------
    @app.get("/app", include_in_schema=False)
    async def app_page_redirect():
        return RedirectResponse("/app/")

    if STATIC_DIR.is_dir():
        app.mount("/app", StaticFiles(directory=STATIC_DIR, html=True), name="app")
    return app
