"""initData validation: our verdicts, and agreement with aiogram's reference implementation on the same inputs."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from aiogram.utils.web_app import check_webapp_signature, safe_parse_webapp_init_data
from hypothesis import given, settings, strategies as st

from serving.api.auth import (InitDataError, caller_from_header, secret_key, sign_init_data, validate_init_data,
                              verified_fields)

TOKEN = "123456789:AAE-reference-token"
KEY = secret_key(TOKEN)
NOW = 1_795_000_000


def _validate(data: str, **kw):
    return validate_init_data(data, key=KEY, max_age=kw.pop("max_age", 3600), now=kw.pop("now", NOW), **kw)


def _tamper(data: str, field: str, value: str) -> str:
    fields = dict(parse_qsl(data))
    fields[field] = value
    return urlencode(fields)


def test_a_signed_init_data_names_its_user():
    caller = _validate(sign_init_data(TOKEN, 6_000_000_026, auth_date=NOW - 10, language_code="ru"))
    assert caller.user_id == 6_000_000_026 and caller.auth_date == NOW - 10 and caller.language_code == "ru"


@pytest.mark.parametrize("data, message", [
    ("", "empty"),
    ("hash=", "no hash"),
    ("user=%7B%22id%22%3A1%7D&auth_date=1", "no hash"),
    (sign_init_data("987:other-bot", 1, auth_date=NOW), "signature does not match"),
    (_tamper(sign_init_data(TOKEN, 1, auth_date=NOW), "user", '{"id":2}'), "signature does not match"),
    (_tamper(sign_init_data(TOKEN, 1, auth_date=NOW), "hash", "0" * 64), "signature does not match"),
    (sign_init_data(TOKEN, 1, auth_date=NOW - 3601), "expired"),  # replayed after the maximum age
    (sign_init_data(TOKEN, 1, auth_date=NOW + 120), "future"),
    (sign_init_data(TOKEN, 1, auth_date=NOW, extra={"auth_date": "soon"}), "auth_date"),
])
def test_bad_init_data_is_refused_with_the_reason(data, message):
    with pytest.raises(InitDataError, match=message):
        _validate(data)


def test_a_signed_init_data_without_a_usable_user_is_refused():
    fields = {"auth_date": str(NOW), "query_id": "x"}
    for user in (None, "not json", json.dumps({"name": "no id"}), json.dumps({"id": "12"}), json.dumps({"id": -5})):
        data = sign_init_data(TOKEN, 1, auth_date=NOW)
        parsed = dict(parse_qsl(data))
        parsed.pop("hash")
        if user is None:
            parsed.pop("user")
        else:
            parsed["user"] = user
        resigned = _resign({**parsed, **fields})
        with pytest.raises(InitDataError, match="user"):
            _validate(resigned)


def _resign(fields: dict[str, str]) -> str:
    import hashlib
    import hmac

    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    return urlencode({**fields, "hash": hmac.new(KEY, check.encode(), hashlib.sha256).hexdigest()})


def test_the_header_must_use_the_tma_scheme():
    data = sign_init_data(TOKEN, 7, auth_date=NOW)
    assert caller_from_header(f"tma {data}", key=KEY, max_age=3600, now=NOW).user_id == 7
    for header in (None, "", "tma", "tma   ", f"Bearer {data}", data):
        with pytest.raises(InitDataError):
            caller_from_header(header, key=KEY, max_age=3600, now=NOW)


# -- the reference: aiogram ------------------------------------------------------------------------------------
def _ours_accepts_signature(data: str) -> bool:
    try:
        verified_fields(data, KEY)
        return True
    except InitDataError:
        return False


def _reference_accepts(data: str) -> bool:
    try:
        return check_webapp_signature(TOKEN, data)
    except Exception:  # noqa: BLE001 - whatever aiogram raises on garbage counts as "refused"
        return False


CORPUS = [
    sign_init_data(TOKEN, 1, auth_date=NOW),
    sign_init_data(TOKEN, 2**52, auth_date=NOW, first_name="Алёна & <Ko> =%", language_code="uz"),
    sign_init_data(TOKEN, 3, auth_date=NOW, extra={"chat_type": "private", "chat_instance": "-77", "start_param": "x y"}),
    sign_init_data("987:other-bot", 1, auth_date=NOW),
    _tamper(sign_init_data(TOKEN, 1, auth_date=NOW), "auth_date", str(NOW + 1)),
    _tamper(sign_init_data(TOKEN, 1, auth_date=NOW), "hash", "A" * 64),
    sign_init_data(TOKEN, 1, auth_date=NOW) + "&extra=unsigned",
    "&".join(reversed(sign_init_data(TOKEN, 4, auth_date=NOW).split("&"))),  # field order does not matter
    sign_init_data(TOKEN, 5, auth_date=NOW).replace("%7B", "%7b"),  # percent-encoding case does not matter
    sign_init_data(TOKEN, 6, auth_date=NOW) + "&hash=" + "0" * 64,  # a second hash: the last one counts
    "user=" + quote('{"id":1}') + "&auth_date=1&hash=abc",
    "not a query string at all",
    "=&=&&",
    "hash",
    "%zz=1&hash=2",
]


@pytest.mark.parametrize("data", CORPUS)
def test_signature_verdicts_agree_with_aiogram(data):
    assert _ours_accepts_signature(data) == _reference_accepts(data)


def test_accepted_init_data_parses_to_the_same_user_as_aiogram():
    for data in CORPUS:
        if _ours_accepts_signature(data):
            ours = _validate(data, max_age=10**9)
            theirs = safe_parse_webapp_init_data(TOKEN, data)
            assert ours.user_id == theirs.user.id and ours.auth_date == int(theirs.auth_date.timestamp())


def test_a_field_with_an_empty_value_is_dropped_before_checking_like_aiogram_does():
    """parse_qsl drops `key=` pairs, so a hash computed over one does not verify, in aiogram and here alike
    (Telegram sends no empty fields)."""
    data = sign_init_data(TOKEN, 1, auth_date=NOW, extra={"start_param": ""})
    assert not _ours_accepts_signature(data) and not _reference_accepts(data)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(user_id=st.integers(1, 2**52), name=st.text(max_size=30),
       extra=st.dictionaries(st.text("abcdefghij_", min_size=1, max_size=8).filter(
           lambda k: k not in ("hash", "user", "auth_date", "query_id")), st.text(min_size=1, max_size=20), max_size=3),
       cut=st.integers(0, 400), replacement=st.characters())
def test_random_init_data_and_its_mutations_get_the_same_verdict(user_id, name, extra, cut, replacement):
    data = sign_init_data(TOKEN, user_id, auth_date=NOW, first_name=name, extra=extra)
    assert _ours_accepts_signature(data) and _reference_accepts(data)
    assert _validate(data).user_id == user_id
    i = cut % len(data)
    mutated = data[:i] + replacement + data[i + 1:]
    assert _ours_accepts_signature(mutated) == _reference_accepts(mutated)


def test_age_limit_is_relative_to_now():
    data = sign_init_data(TOKEN, 9)
    assert validate_init_data(data, key=KEY, max_age=60).user_id == 9  # signed just now, checked at real time
    with pytest.raises(InitDataError, match="expired"):
        validate_init_data(data, key=KEY, max_age=60, now=time.time() + 61)
