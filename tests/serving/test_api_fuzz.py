"""Fuzzing the Mini App API: whatever a client sends, no answer is a 5xx, and every error is our short JSON.

Requests come from our own OpenAPI document (schemathesis: valid and invalid path and query parameters, its
boundary values, then random ones), with an `Authorization` that is a demo owner's valid initData (with the
path's channel, or one the owner has, so that the reads behind ownership run too), a valid initData of a user
who owns nothing, garbage, or what schemathesis generated. Posts cursors get a test of their own: random text
almost never decodes, so that one builds cursors the API could have issued and puts odd values inside (huge
numbers, infinities, other types, odd dates).

Deterministic: schemathesis and Hypothesis derandomized, a bounded number of examples per route.
"""

from __future__ import annotations

import base64
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st

from analyticbot import channel_reads as reads
from serving.api.app import create_app
from tests.serving.signing import auth

EXAMPLES = 200  # per operation; the file's tests take about 12 s on 2 cores (plus the session's demo build)

STRANGER = 7_000_000_001  # a valid Telegram user who owns no channel
GARBAGE_AUTH = st.one_of(
    st.just(""), st.just("tma "), st.just("Bearer abc"), st.just("tma hash=00"),
    st.just("tma user=%7B%22id%22%3A1%7D&auth_date=1&hash=" + "0" * 64),
    st.just(auth(6_000_000_026, auth_date=1)["Authorization"]),  # signed, but long expired
    st.just(auth(6_000_000_026, token="123:another-bot")["Authorization"]),
    st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=80).map(lambda s: "tma " + s),
)


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        assert {"error", "detail"} <= set(body), body


# The document does not depend on settings, so it is read at collection (`from_fixture` would wait for the demo
# fixtures, but schemathesis 4.32's lazy schemas do not run on pytest 9); requests go to an app on the demo.
schema = schemathesis.openapi.from_dict(create_app().openapi())
schema.config.generation.update(max_examples=EXAMPLES, deterministic=True, database="none")


@pytest.fixture(scope="module")
def demo_app(api_settings):
    return create_app(api_settings)


@schema.parametrize()
@schema.given(data=st.data())
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_request_gets_a_server_error(case, data, owners, demo_app):
    caller = data.draw(st.sampled_from(["owner, own channel", "owner", "stranger", "garbage", "as generated"]),
                       label="caller")
    if caller.startswith("owner"):
        owner = data.draw(st.sampled_from(sorted(owners)), label="owner")
        case.headers = {**(case.headers or {}), **auth(owner)}
        if caller == "owner, own channel" and "channel_id" in (case.path_parameters or {}):
            case.path_parameters["channel_id"] = data.draw(st.sampled_from(owners[owner]), label="channel")
    elif caller == "stranger":
        case.headers = {**(case.headers or {}), **auth(STRANGER)}
    elif caller == "garbage":
        case.headers = {**(case.headers or {}), "Authorization": data.draw(GARBAGE_AUTH, label="authorization")}
    assert_no_server_error(case.call(app=demo_app))


# What a cursor may hold: the right types with extreme values (beyond 64 bits, infinities, NaN, any date), and
# the wrong types.
ODD_VALUES = st.one_of(
    st.integers(), st.integers(min_value=2**63 - 2, max_value=2**80),
    st.integers(min_value=-(2**80), max_value=2 - 2**63),
    st.floats(), st.datetimes().map(lambda d: d.isoformat()),
    st.none(), st.booleans(), st.text(max_size=40),
    st.sampled_from(["2026-09-01T17:14:07", "0001-01-01T00:00:00", "9999-12-31T23:59:59.999999",
                     "2026-09-01T17:14:07+05:00", "2026-09-01", "2026-13-45T99:00:00", "NaN"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def issued_like(sort: str, order: str, is_null, value, message_id) -> str:
    """A cursor in the API's own encoding (`channel_reads.encode_cursor`), with whatever values inside."""
    raw = json.dumps([sort, order, is_null, value, message_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@given(sort=st.sampled_from(reads.POST_SORTS), order=st.sampled_from(["asc", "desc"]),
       is_null=st.one_of(st.booleans(), ODD_VALUES), value=ODD_VALUES,
       message_id=st.one_of(st.integers(), ODD_VALUES),
       limit=st.integers(1, reads.MAX_LIMIT), data=st.data())
@settings(max_examples=400, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_a_posts_cursor_with_odd_values_gets_an_answer_not_a_crash(client, owners, sort, order, is_null, value,
                                                                   message_id, limit, data):
    owner = data.draw(st.sampled_from(sorted(owners)))
    channel = data.draw(st.sampled_from(owners[owner]))
    cursor = issued_like(sort, order, is_null, value, message_id)
    response = client.get(f"/api/v1/channels/{channel}/posts",
                          params={"sort": sort, "order": order, "limit": limit, "cursor": cursor},
                          headers=auth(owner))
    assert_no_server_error(response)
