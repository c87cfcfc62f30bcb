"""A local stand-in for the Stripe API's list endpoints, for tests and benchmarks.

The real `stripe` client talks to it over HTTP (point `STRIPE_API_BASE` / `base_addresses={"api": url}` at it),
so what is exercised is the client's own request encoding, auth header, pagination and retries, not a mock of
them. It serves `GET /v1/events`, `/v1/subscriptions` and `/v1/invoices` the way Stripe does (and
`POST /v1/checkout/sessions`, see `create_checkout_session`):

- the list envelope `{"object": "list", "data": [...], "has_more": ..., "url": "/v1/events"}`, pretty-printed;
- newest first (by `created`, then id), `limit` 1..100 (default 10), `starting_after`, `created` /
  `created[gt|gte|lt|lte]`; events also `type` (with `*`) and `types[]`; subscriptions `status` (default: all
  but canceled; `all`); invoices `status` and `customer`;
- `Authorization: Bearer <key>` (or Basic with the key as user) must carry the configured key, else a 401 with
  Stripe's error body; unknown paths get Stripe's 404.

It records every request (`requests`) and can fail the next ones on purpose (`fail_next`) to test retries.

    with StripeAPIServer(events=[...]) as base_url:
        client = stripe.StripeClient("sk_test_fake", base_addresses={"api": base_url})
"""

from __future__ import annotations

import base64
import bisect
import fnmatch
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_test_fake_analyticbot"
RESOURCES = ("events", "subscriptions", "invoices")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]  # the query string as Stripe's client encoded it: "created[gte]", "types[0]", ...
    headers: dict[str, str]  # lower-cased names
    status: int


@dataclass
class _Failure:
    status: int
    path: str | None
    should_retry: bool | None
    after: int  # matching requests still to let through before this one fails


@dataclass
class _Sorted:
    """One resource, newest first, with the lookups a list request needs."""
    items: list[dict[str, Any]]
    neg_created: list[int] = field(init=False)  # ascending, for bisect
    position: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.items.sort(key=lambda o: (o["created"], o["id"]), reverse=True)
        self.neg_created = [-o["created"] for o in self.items]
        self.position = {o["id"]: i for i, o in enumerate(self.items)}


class StripeAPIError(Exception):
    """An error answer: Stripe's `{"error": {...}}` body, with extra response headers."""

    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.headers = status, headers or {}
        self.body = {"error": {"type": type_, "message": message, **extra}}


class StripeAPIServer:
    def __init__(self, events: Iterable[dict] = (), subscriptions: Iterable[dict] = (),
                 invoices: Iterable[dict] = (), *, api_key: str = API_KEY):
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, dict]] = {name: {} for name in RESOURCES}
        self._sorted: dict[str, _Sorted | None] = {name: None for name in RESOURCES}
        self._failures: list[_Failure] = []
        self._sessions = 0  # checkout sessions created
        for name, objects in (("events", events), ("subscriptions", subscriptions), ("invoices", invoices)):
            self.put(name, *objects)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- data ----------------------------------------------------------------------------------------------
    def put(self, resource: str, *objects: dict) -> None:
        """Add objects, or replace those with the same id (an object that changed at Stripe)."""
        with self._lock:
            for obj in objects:
                if not isinstance(obj.get("id"), str) or not isinstance(obj.get("created"), int):
                    raise ValueError(f"{resource}: every object needs a string id and an integer created")
                self._data[resource][obj["id"]] = obj
            self._sorted[resource] = None

    def fail_next(self, status: int = 500, *, times: int = 1, path: str | None = None, after: int = 0,
                  should_retry: bool | None = None) -> None:
        """Answer `times` requests (to `path`, if given) with `status` and Stripe's error body, after letting
        `after` of them through (`after=1`: fail the second page). `should_retry` sets the `Stripe-Should-Retry`
        header, which the client obeys (it retries a 429 only when told to)."""
        with self._lock:
            self._failures.append(_Failure(status, path, should_retry, after))
            self._failures.extend(_Failure(status, path, should_retry, 0) for _ in range(times - 1))

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # -- lifecycle -----------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"api": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-stripe-api", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = self._thread = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API -------------------------------------------------------------------------------------------
    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for i, failure in enumerate(self._failures):
                if failure.path in (None, path):
                    if failure.after > 0:
                        failure.after -= 1
                        return None
                    return self._failures.pop(i)
        return None

    def _authorised(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer":
            return credential == self.api_key
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(credential).decode().split(":", 1)[0] == self.api_key
            except (ValueError, UnicodeDecodeError):
                return False
        return False

    def answer(self, path: str, params: dict[str, str], authorization: str | None) -> tuple[int, dict, dict]:
        """(status, body, extra headers) for one GET."""
        self._check_auth(authorization)
        failure = self._take_failure(path)
        if failure is not None:
            headers = {} if failure.should_retry is None else {
                "Stripe-Should-Retry": "true" if failure.should_retry else "false"}
            if failure.status == 429:
                raise StripeAPIError(429, "Request rate limit exceeded.", code="rate_limit", headers=headers)
            raise StripeAPIError(failure.status, "An unknown error occurred (injected by the fake).",
                                 type_="api_error", headers=headers)
        resource = path.removeprefix("/v1/")
        if path.count("/") != 2 or resource not in RESOURCES:
            raise StripeAPIError(404, f"Unrecognized request URL (GET: {path}).")
        return 200, self._list(resource, params), {}

    def create_checkout_session(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict, dict]:
        """POST /v1/checkout/sessions: checks the form-encoded parameters the way Stripe does for the fields
        AnalyticBot sends, and answers a Checkout Session object (`object: "checkout.session"`, status open)."""
        self._check_auth(authorization)
        failure = self._take_failure("/v1/checkout/sessions")
        if failure is not None:
            raise StripeAPIError(failure.status, "An unknown error occurred (injected by the fake).",
                                 type_="api_error")
        mode = form.get("mode")
        if mode not in ("payment", "setup", "subscription"):
            raise StripeAPIError(400, "Invalid mode: must be one of payment, setup, or subscription", param="mode")
        if mode != "setup" and not form.get("line_items[0][price]"):
            raise StripeAPIError(400, "You must specify `line_items`.", param="line_items")
        for name in ("success_url", "cancel_url"):
            if name in form and not form[name].startswith(("http://", "https://")):
                raise StripeAPIError(400, "Not a valid URL", param=name)
        with self._lock:
            self._sessions += 1
            number = self._sessions
        session_id = f"cs_test_fake{number:012d}"
        metadata = {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")}
        session = {
            "id": session_id, "object": "checkout.session", "mode": mode, "status": "open",
            "payment_status": "unpaid", "livemode": False, "created": 1_800_000_000,
            "expires_at": 1_800_086_400, "client_reference_id": form.get("client_reference_id"),
            "customer": None, "subscription": None, "metadata": metadata,
            "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url"),
            "locale": form.get("locale"), "currency": None, "amount_total": None,
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        return 200, session, {}

    def _check_auth(self, authorization: str | None) -> None:
        if not self._authorised(authorization):
            shown = authorization.rsplit(" ", 1)[-1] if authorization else ""
            masked = f"{shown[:8]}{'*' * max(len(shown) - 12, 0)}{shown[-4:]}" if len(shown) > 12 else "***"
            raise StripeAPIError(401, f"Invalid API Key provided: {masked}" if authorization else
                                 "You did not provide an API key.")

    def _list(self, resource: str, params: dict[str, str]) -> dict:
        try:
            limit = int(params.get("limit", 10))
        except ValueError:
            raise StripeAPIError(400, "Invalid integer: limit", param="limit") from None
        if not 1 <= limit <= 100:
            raise StripeAPIError(400, "This value must be between 1 and 100.", param="limit")
        if "ending_before" in params:
            raise StripeAPIError(400, "ending_before is not supported by this fake.", param="ending_before")
        bounds = _created_bounds(params)
        keep = _filter(resource, params)
        with self._lock:
            view = self._sorted[resource]
            if view is None:
                view = self._sorted[resource] = _Sorted(list(self._data[resource].values()))
        start = 0
        if "starting_after" in params:
            if params["starting_after"] not in view.position:
                raise StripeAPIError(400, f"No such {resource[:-1]}: '{params['starting_after']}'",
                                     param="starting_after", code="resource_missing")
            start = view.position[params["starting_after"]] + 1
        # Newest first: skip what is newer than the upper bound, stop at the first item older than the lower one.
        start = max(start, bisect.bisect_left(view.neg_created, -bounds[1]))
        page: list[dict] = []
        has_more = False
        for obj in view.items[start:]:
            if obj["created"] < bounds[0]:
                break
            if not keep(obj):
                continue
            if len(page) == limit:
                has_more = True
                break
            page.append(obj)
        return {"object": "list", "data": page, "has_more": has_more, "url": f"/v1/{resource}"}


def _created_bounds(params: dict[str, str]) -> tuple[int, int]:
    """Inclusive [low, high] on `created`."""
    low, high = -(2 ** 62), 2 ** 62
    try:
        if "created" in params:
            low = high = int(params["created"])
        if "created[gt]" in params:
            low = max(low, int(params["created[gt]"]) + 1)
        if "created[gte]" in params:
            low = max(low, int(params["created[gte]"]))
        if "created[lt]" in params:
            high = min(high, int(params["created[lt]"]) - 1)
        if "created[lte]" in params:
            high = min(high, int(params["created[lte]"]))
    except ValueError:
        raise StripeAPIError(400, "Invalid timestamp: must be an integer Unix timestamp.", param="created") from None
    return low, high


def _filter(resource: str, params: dict[str, str]):
    if resource == "events":
        types = [v for k, v in params.items() if k.startswith("types[")]
        pattern = params.get("type")
        if types and pattern:
            raise StripeAPIError(400, "You may pass either `type` or `types`, but not both.", param="types")
        if len(types) > 20:
            raise StripeAPIError(400, "types: at most 20 event types.", param="types")
        if types:
            wanted = set(types)
            return lambda e: e.get("type") in wanted
        if pattern:
            return lambda e: fnmatch.fnmatchcase(str(e.get("type")), pattern)
    if resource == "subscriptions":
        status = params.get("status")
        if status == "all":
            return lambda s: True
        if status:
            return lambda s: s.get("status") == status
        return lambda s: s.get("status") != "canceled"
    if resource == "invoices":
        status, customer = params.get("status"), params.get("customer")
        return lambda i: (status is None or i.get("status") == status) and (
            customer is None or i.get("customer") == customer)
    return lambda o: True


class _Handler(BaseHTTPRequestHandler):
    api: StripeAPIServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's session expects

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        split = urlsplit(self.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        try:
            status, body, headers = self.api.answer(split.path, params, self.headers.get("Authorization"))
        except StripeAPIError as exc:
            status, body, headers = exc.status, exc.body, exc.headers
        self.api.requests.append(RecordedRequest("GET", split.path, params,
                                                 {k.lower(): v for k, v in self.headers.items()}, status))
        self._send(status, body, headers)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True))
        path = urlsplit(self.path).path
        try:
            if path != "/v1/checkout/sessions":
                raise StripeAPIError(404, f"Unrecognized request URL (POST: {self.path}).")
            status, body, headers = self.api.create_checkout_session(form, self.headers.get("Authorization"))
        except StripeAPIError as exc:
            status, body, headers = exc.status, exc.body, exc.headers
        self.api.requests.append(RecordedRequest("POST", path, form,
                                                 {k.lower(): v for k, v in self.headers.items()}, status))
        self._send(status, body, headers)

    def _send(self, status: int, body: dict, headers: dict[str, str]) -> None:
        data = json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8")  # Stripe pretty-prints
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_fake{len(self.api.requests):08d}")
        if self.headers.get("Stripe-Version"):
            self.send_header("Stripe-Version", self.headers["Stripe-Version"])
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the recorded requests are the log
        pass
