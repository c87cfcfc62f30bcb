"""The Mini App API on the session's demo snapshot: what an owner sees, what nobody else sees, and how it behaves
at the edges (bad input, caching validators, rate limit, a new snapshot, read-only connections)."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from datetime import datetime, timedelta

import duckdb
import pytest
from fastapi.testclient import TestClient

from analyticbot.snapshot import SnapshotReader, _swap_pointer, new_version
from serving.api.app import create_app
from tests.serving.signing import BOT_TOKEN, auth

API = "/api/v1"


@pytest.fixture(scope="module")
def owner(owners) -> tuple[int, list[int]]:
    """The owner with the most channels, and those channels."""
    user = max(owners, key=lambda u: (len(owners[u]), u))
    return user, owners[user]


@pytest.fixture(scope="module")
def snapshot(api_settings):
    def query(sql, params=None):
        return SnapshotReader(api_settings).query(sql, params)
    return query


def test_health_names_the_published_snapshot(client, api_settings):
    body = client.get(f"{API}/health").json()
    assert body["status"] == "ok"
    assert body["snapshot_version"] == SnapshotReader(api_settings).current_version()
    assert body["age_seconds"] >= 0


def test_an_owner_sees_exactly_their_channels_with_headline_numbers(client, owner, snapshot):
    user, channels = owner
    body = client.get(f"{API}/me/channels", headers=auth(user)).json()
    assert body["user_id"] == user
    assert sorted(c["channel_id"] for c in body["channels"]) == sorted(channels)
    for c in body["channels"]:
        newest = snapshot("SELECT subscribers, err FROM marts.fct_channel_daily WHERE channel_id = ? "
                          "ORDER BY date DESC LIMIT 1", [c["channel_id"]]).row(0, named=True)
        assert c["subscribers"] == newest["subscribers"] and c["err"] == pytest.approx(newest["err"])


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "tma "}, {"Authorization": "Bearer abc"}, {"Authorization": "tma user=1&hash=00"},
    auth(6_000_000_026, token="987:another-bot"),
])
def test_without_valid_init_data_every_channel_route_is_401(client, owner, headers):
    _, channels = owner
    for path in ("/me/channels", f"/channels/{channels[0]}/overview", f"/channels/{channels[0]}/posts"):
        r = client.get(API + path, headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert r.headers["www-authenticate"] == "tma"
        assert str(channels[0]) not in r.text


def test_expired_init_data_is_401(client, owner, api_settings):
    import time

    user, channels = owner
    old = int(time.time()) - api_settings.api_init_data_max_age - 5
    r = client.get(f"{API}/channels/{channels[0]}/overview", headers=auth(user, auth_date=old))
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_someone_elses_channel_and_a_missing_one_get_the_same_404(client, owners, owner):
    user, mine = owner
    theirs = next(c for u, cs in owners.items() if u != user for c in cs)
    for route in ("overview", "posts", "heatmap", "best-times", "forecast", "posts/1"):
        other = client.get(f"{API}/channels/{theirs}/{route}", headers=auth(user))
        missing = client.get(f"{API}/channels/999999/{route}", headers=auth(user))
        assert other.status_code == missing.status_code == 404
        assert other.content == missing.content  # nothing tells the two apart


def test_overview_matches_the_daily_mart(client, owner, snapshot):
    user, channels = owner
    body = client.get(f"{API}/channels/{channels[0]}/overview?days=14", headers=auth(user)).json()
    daily = snapshot("SELECT * FROM marts.fct_channel_daily WHERE channel_id = ? ORDER BY date", [channels[0]])
    last = daily.row(-1, named=True)
    before = daily.filter(daily["date"] == last["date"] - timedelta(days=14)).row(0, named=True)
    assert body["date_to"] == str(last["date"]) and len(body["daily"]) == 14
    assert body["subscribers"] == last["subscribers"]
    assert body["growth"] == last["subscribers"] - before["subscribers"]
    assert body["growth_pct"] == pytest.approx(body["growth"] / before["subscribers"])
    assert body["err"] == pytest.approx(last["err"]) and body["err24"] == pytest.approx(last["err24"])
    assert body["posts"] == daily.tail(14)["posts"].sum()


def _all_pages(client, user, channel, sort, order, limit):
    seen, cursor = [], None
    while True:
        url = f"{API}/channels/{channel}/posts?sort={sort}&order={order}&limit={limit}"
        r = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=auth(user))
        assert r.status_code == 200, r.text
        body = r.json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("sort, order", [("views_24h", "desc"), ("views_1h", "asc"), ("posted_at", "desc")])
def test_posts_pages_walk_every_post_once_in_order(client, owner, snapshot, sort, order):
    user, channels = owner
    posts = _all_pages(client, user, channels[0], sort, order, limit=37)
    expected = snapshot(f"SELECT message_id, {sort} FROM marts.fct_posts WHERE channel_id = ? AND NOT is_deleted "
                        f"ORDER BY {sort} IS NULL, {sort} {order}, message_id {order}", [channels[0]])
    assert [p["message_id"] for p in posts] == expected["message_id"].to_list()
    assert len({p["message_id"] for p in posts}) == len(posts)
    nulls = [p for p in posts if p[sort] is None]
    assert posts[len(posts) - len(nulls):] == nulls  # posts without the value come last


def test_one_post_with_its_decay_curve(client, owner, snapshot):
    user, channels = owner
    top = client.get(f"{API}/channels/{channels[0]}/posts?limit=1", headers=auth(user)).json()["items"][0]
    body = client.get(f"{API}/channels/{channels[0]}/posts/{top['message_id']}", headers=auth(user)).json()
    assert body["post"] == top
    ages = [p["age_hours"] for p in body["decay"]]
    views = [p["views"] for p in body["decay"]]
    assert ages == sorted(ages) and 24 in ages and views == sorted(views)
    assert views[ages.index(24)] == pytest.approx(top["views_24h"], rel=1e-6)
    assert client.get(f"{API}/channels/{channels[0]}/posts/1", headers=auth(user)).status_code == 404


def test_heatmap_best_times_and_forecast(client, owner, snapshot):
    user, channels = owner
    cells = client.get(f"{API}/channels/{channels[0]}/heatmap", headers=auth(user)).json()["cells"]
    assert len(cells) == 168 and {(c["weekday"], c["hour"]) for c in cells} == {
        (d, h) for d in range(7) for h in range(24)}
    posts = snapshot("SELECT count(*) AS n FROM marts.fct_posts WHERE channel_id = ? AND NOT is_deleted",
                     [channels[0]])["n"][0]
    assert sum(c["posts"] for c in cells) == posts
    best = client.get(f"{API}/channels/{channels[0]}/best-times", headers=auth(user)).json()
    assert best["status"] == "available" and [s["rank"] for s in best["slots"]] == list(range(1, 169))
    forecast = client.get(f"{API}/channels/{channels[0]}/forecast", headers=auth(user)).json()
    assert [s["metric"] for s in forecast["series"]] == ["subscribers", "daily_reach"]
    assert all(s["status"] == "available" and len(s["points"]) >= 30 for s in forecast["series"])


@pytest.mark.parametrize("query", [
    "limit=0", "limit=-1", "limit=101", "limit=99999999999999999999", "limit=abc", "sort=views_24h;DROP TABLE x",
    "sort=message_id", "order=sideways", "cursor=not-a-cursor", "cursor=" + "A" * 600,
    "cursor=WyJ2aWV3c18yNGgiLCJkZXNjIixmYWxzZSwiMSBPUiAxPTEiLDFd",  # a well-formed cursor with SQL as value
])
def test_bad_posts_parameters_are_400_with_a_short_reason(client, owner, query):
    user, channels = owner
    r = client.get(f"{API}/channels/{channels[0]}/posts?{query}", headers=auth(user))
    assert r.status_code == 400 and set(r.json()) == {"error", "detail"} and len(r.text) < 400


def test_a_cursor_from_another_sort_is_refused(client, owner):
    user, channels = owner
    cursor = client.get(f"{API}/channels/{channels[0]}/posts?limit=1", headers=auth(user)).json()["next_cursor"]
    r = client.get(f"{API}/channels/{channels[0]}/posts?sort=views_1h&cursor={cursor}", headers=auth(user))
    assert r.status_code == 400 and "another sort" in r.json()["detail"]


@pytest.mark.parametrize("path", [
    "/channels/1%3BDROP%20TABLE%20marts.fct_posts/overview", "/channels/-5/overview", "/channels/0/overview",
    f"/channels/{2**63}/overview", "/channels/1/overview?days=0", "/channels/1/overview?days=367",
    "/channels/1/posts/abc",
])
def test_bad_path_and_query_values_are_400(client, owner, path):
    user, _ = owner
    r = client.get(API + path, headers=auth(user))
    assert r.status_code == 400 and r.json()["error"] == "bad_request"


def test_unknown_routes_and_methods_answer_json(client, owner):
    user, channels = owner
    r = client.get(f"{API}/nope", headers=auth(user))
    assert r.status_code == 404 and r.json() == {"error": "not_found", "detail": "no such route"}
    r = client.post(f"{API}/channels/{channels[0]}/overview", headers=auth(user))
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_etag_and_if_none_match(client, owner):
    user, channels = owner
    url = f"{API}/channels/{channels[0]}/overview"
    first = client.get(url, headers=auth(user))
    etag = first.headers["etag"]
    again = client.get(url, headers={**auth(user), "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(url + "?days=7", headers=auth(user)).headers["etag"] != etag
    assert client.get(url, headers={**auth(user), "If-None-Match": '"other"'}).status_code == 200
    # a validator never answers for a channel the caller does not own
    assert client.get(f"{API}/channels/999999/overview",
                      headers={**auth(user), "If-None-Match": "*"}).status_code == 404


def test_rate_limit_is_per_user_with_retry_after(api_settings, owners):
    users = sorted(owners)[:2]
    app = create_app(dataclasses.replace(api_settings, api_rate_per_second=0.5, api_rate_burst=3))
    with TestClient(app) as c:
        answers = [c.get(f"{API}/me/channels", headers=auth(users[0])) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[-1].json()["error"] == "rate_limited" and int(answers[-1].headers["retry-after"]) >= 1
        assert c.get(f"{API}/me/channels", headers=auth(users[1])).status_code == 200


def test_metrics_count_requests_by_route_template(client, owner):
    user, channels = owner
    client.get(f"{API}/channels/{channels[0]}/heatmap", headers=auth(user))
    client.get(f"{API}/channels/{channels[0]}/heatmap")
    text = client.get("/metrics").text
    route = 'route="/api/v1/channels/{channel_id}/heatmap"'
    assert f'analyticbot_api_requests_total{{method="GET",{route},status="200"}}' in text
    assert f'analyticbot_api_requests_total{{method="GET",{route},status="401"}}' in text
    assert f"analyticbot_api_request_duration_seconds_bucket{{le=\"0.02\",{route}}}" in text
    assert str(channels[0]) not in text  # ids never become labels


def test_access_log_is_structured_and_holds_no_init_data(client, owner, caplog):
    user, channels = owner
    with caplog.at_level(logging.INFO, logger="analyticbot.api.access"):
        client.get(f"{API}/channels/{channels[0]}/overview", headers=auth(user))
        client.get(f"{API}/channels/{channels[0]}/overview", headers={"Authorization": "tma forged&hash=1"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "analyticbot.api.access"]
    assert [(line["status"], line["user_id"]) for line in lines] == [(200, user), (401, None)]
    assert lines[0]["route"] == "/api/v1/channels/{channel_id}/overview"
    assert "hash" not in caplog.text and "tma" not in caplog.text and "auth_date" not in caplog.text


def test_a_new_snapshot_is_served_without_a_restart(api_settings, owner, tmp_path):
    """Publish = a new file + an atomic pointer swap. The API picks it up on the next request; a read that
    started on the previous version can still finish on it."""
    user, channels = owner
    data = tmp_path / "data"
    shutil.copytree(api_settings.published_dir, data / "published")
    settings = dataclasses.replace(api_settings, data_dir=data)
    reader = SnapshotReader(settings)
    old = reader.current_version()
    new = new_version(datetime.strptime(old, "%Y%m%dT%H%M%S%fZ") + timedelta(seconds=1))
    new_file = settings.published_dir / f"snapshot-{new}.duckdb"
    shutil.copy(settings.published_dir / f"snapshot-{old}.duckdb", new_file)
    with duckdb.connect(str(new_file)) as con:
        con.execute("UPDATE marts.dim_channels SET title = 'Renamed' WHERE channel_id = ?", [channels[0]])
        con.execute("UPDATE meta.snapshot SET version = ?", [new])

    with TestClient(create_app(settings)) as c:
        url = f"{API}/channels/{channels[0]}/overview"
        before = c.get(url, headers=auth(user))
        assert before.json()["title"] != "Renamed" and before.headers["etag"].startswith(f'"{old}-')
        _swap_pointer(settings.published_dir, new_file.name)
        after = c.get(url, headers=auth(user))
        assert after.json()["title"] == "Renamed" and after.headers["etag"].startswith(f'"{new}-')
        # the old ETag no longer validates: the client gets the new body
        assert c.get(url, headers={**auth(user), "If-None-Match": before.headers["etag"]}).status_code == 200
        with reader.connect(old) as con:  # what an in-flight request of the old version reads
            assert con.query("SELECT count(*) AS n FROM marts.dim_channels")["n"][0] > 0


def test_the_api_opens_duckdb_read_only(api_settings, owner, monkeypatch):
    user, channels = owner
    modes = []
    real_connect = duckdb.connect

    def spy(*args, **kwargs):
        modes.append(kwargs.get("read_only", False))
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", spy)
    with TestClient(create_app(api_settings)) as c:
        for route in ("overview", "posts", "heatmap", "best-times", "forecast"):
            assert c.get(f"{API}/channels/{channels[0]}/{route}", headers=auth(user)).status_code == 200
        assert c.get(f"{API}/health").status_code == 200
    assert modes and all(modes)


def test_no_snapshot_yet_is_503(api_settings, tmp_path, owner):
    user, _ = owner
    settings = dataclasses.replace(api_settings, data_dir=tmp_path / "empty")
    with TestClient(create_app(settings)) as c:
        assert c.get(f"{API}/health").status_code == 503
        r = c.get(f"{API}/me/channels", headers=auth(user))
        assert r.status_code == 503 and r.json()["error"] == "unavailable"


def test_missing_bot_token_stops_the_app_at_start(api_settings):
    from analyticbot.settings import ConfigError

    with pytest.raises(ConfigError, match="BOT_TOKEN"):
        with TestClient(create_app(dataclasses.replace(api_settings, bot_token=None))):
            pass
