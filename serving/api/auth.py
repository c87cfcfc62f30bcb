"""Telegram Mini App authentication: `Authorization: tma <initData>`.

The Mini App gets `Telegram.WebApp.initData` from the Telegram client, a query string signed by Telegram with
the bot's token, and sends it with every request. Validation follows Telegram's documentation
(core.telegram.org/bots/webapps, "Validating data received via the Mini App"):

    secret_key       = HMAC_SHA256(key="WebAppData", msg=bot_token)
    data_check_string = "\\n".join(sorted(f"{key}={value}" for every field but hash, URL-decoded))
    valid            = hex(HMAC_SHA256(key=secret_key, msg=data_check_string)) == hash

The fields are parsed the way aiogram's `safe_parse_webapp_init_data` parses them (`dict(parse_qsl(...))`), so
our verdict on a signature and the reference implementation's agree on the same input
(`tests/serving/test_api_auth.py` checks that on valid, tampered and malformed inputs). On top of the signature:
`auth_date` must be present, no older than `max_age` and not in the future beyond `skew` (a stolen initData
stops working), and `user` must carry a numeric id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

SCHEME = "tma"


class InitDataError(ValueError):
    """initData is missing, malformed, forged or expired. The message says which, never the data itself."""


@dataclass(frozen=True)
class WebAppCaller:
    user_id: int
    auth_date: int
    language_code: str | None = None


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: dict[str, str]) -> bytes:
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash").encode()


def verified_fields(init_data: str, key: bytes) -> dict[str, str]:
    """The URL-decoded fields of initData whose hash Telegram's HMAC confirms, or InitDataError."""
    if not init_data:
        raise InitDataError("initData is empty")
    try:
        fields = dict(parse_qsl(init_data))
    except ValueError:
        raise InitDataError("initData is not a query string") from None
    received = fields.get("hash")
    if not received:
        raise InitDataError("initData has no hash")
    expected = hmac.new(key, _data_check_string(fields), hashlib.sha256).hexdigest()
    # bytes: compare_digest refuses str with non-ASCII characters, and a forged hash may have any
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise InitDataError("initData signature does not match")
    return fields


def validate_init_data(init_data: str, *, key: bytes, max_age: int, skew: int = 60,
                       now: float | None = None) -> WebAppCaller:
    """The caller behind a signed initData, or InitDataError saying what is wrong. `key` is `secret_key(token)`
    (computed once per process: it only depends on the token)."""
    fields = verified_fields(init_data, key)
    try:
        auth_date = int(fields["auth_date"])
    except (KeyError, ValueError):
        raise InitDataError("initData has no valid auth_date") from None
    now = time.time() if now is None else now
    if auth_date > now + skew:
        raise InitDataError("initData auth_date is in the future")
    if now - auth_date > max_age:
        raise InitDataError("initData has expired")
    try:
        user = json.loads(fields["user"])
        user_id = user["id"]
    except (KeyError, ValueError, TypeError):
        raise InitDataError("initData has no user") from None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise InitDataError("initData user id is not a positive whole number")
    language = user.get("language_code")
    return WebAppCaller(user_id=user_id, auth_date=auth_date,
                        language_code=language if isinstance(language, str) else None)


def caller_from_header(authorization: str | None, *, key: bytes, max_age: int, skew: int = 60,
                       now: float | None = None) -> WebAppCaller:
    """`Authorization: tma <initData>` -> the caller."""
    if not authorization:
        raise InitDataError("missing Authorization header (expected: tma <initData>)")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != SCHEME or not value.strip():
        raise InitDataError("Authorization must be: tma <initData>")
    return validate_init_data(value.strip(), key=key, max_age=max_age, skew=skew, now=now)


def sign_init_data(bot_token: str, user_id: int, *, auth_date: int | None = None, first_name: str = "Demo",
                   language_code: str = "en", extra: dict[str, str] | None = None) -> str:
    """initData as a Telegram client would receive it for `user_id`: for tests, the benchmark and the local
    "open the Mini App" link (`analyticbot twa-url`). Only someone holding the bot token can make one."""
    fields = {
        "query_id": f"AAH{user_id:x}",
        "user": json.dumps({"id": user_id, "first_name": first_name, "language_code": language_code},
                           separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        **(extra or {}),
    }
    fields["hash"] = hmac.new(secret_key(bot_token), _data_check_string(fields), hashlib.sha256).hexdigest()
    return urlencode(fields)
