"""The live telethon source against a fake client that speaks real telethon types (no network)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import pytest
from telethon import errors, functions, types

from analyticbot.settings import ConfigError, Settings
from analyticbot.telegram.contract import RAW_TABLES
from analyticbot.telegram.live import (
    ChannelState, KnownPost, LiveChannel, LivePoller, content_type, joins_leaves_from_graph, make_client,
)

from tests.analyticbot.fake_telegram import (  # noqa: F401 - builders used throughout
    CID, NOW, OTHER, UTC, FakeChannel, FakeClient, at, broadcast_stats, document, graph_json, msg, photo,
    poll_media,
)


# -- a fake telethon client ----------------------------------------------------------------------------------

def run(coro):
    return asyncio.run(coro)


def poller(client, **kw) -> tuple[LivePoller, list[float]]:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    return LivePoller(client, now=lambda: NOW, sleep=sleep, **kw), slept


def rows(batch, table):
    return batch.table(table).to_pylist()


def requests_of(client, kind):
    return [r for r in client.calls if isinstance(r, kind)]


# -- tests --------------------------------------------------------------------------------------------------

def test_new_posts_are_read_incrementally_by_message_id():
    rx = types.MessageReactions(results=[
        types.ReactionCount(reaction=types.ReactionEmoji(emoticon="👍"), count=5),
        types.ReactionCount(reaction=types.ReactionCustomEmoji(document_id=555), count=2),
    ])
    ch = FakeChannel(CID, title="Daily", username="daily", messages=[
        msg(1), msg(2), msg(3),
        msg(4, text="новость", views=100, forwards=3, replies=types.MessageReplies(replies=4, replies_pts=1),
            reactions=rx, edit_date=datetime(2025, 3, 10, 13, 50, tzinfo=timezone(timedelta(hours=2)))),
        msg(5, media=photo(), fwd_from=types.MessageFwdHeader(date=at(500))),
    ])
    client = FakeClient(ch)
    p, _ = poller(client)
    batch = run(p.poll_channel(LiveChannel(CID, "daily"), ChannelState(max_message_id=3)))

    assert client.iter_calls == [(CID, 3, True)]
    posts = {r["message_id"]: r for r in rows(batch, "telegram_posts")}
    assert sorted(posts) == [4, 5]
    p4 = posts[4]
    assert p4["posted_at"] == NOW - timedelta(minutes=30)
    assert p4["edited_at"] == datetime(2025, 3, 10, 11, 50)  # +02:00 converted to naive UTC
    assert p4["revision_at"] == p4["edited_at"]
    assert (p4["content_type"], p4["has_media"], p4["text_length"], p4["is_forward"]) == ("text", False, 7, False)
    assert p4["deleted"] is False and p4["source_kind"] == "telethon"
    assert posts[5]["revision_at"] == posts[5]["posted_at"]
    assert (posts[5]["content_type"], posts[5]["has_media"], posts[5]["is_forward"]) == ("photo", True, True)

    snaps = {r["message_id"]: r for r in rows(batch, "telegram_post_snapshots")}
    s4 = snaps[4]
    assert (s4["views"], s4["forwards"], s4["replies"], s4["reactions"]) == (100, 3, 4, 7)
    assert json.loads(s4["reactions_by_emoji"]) == {"👍": 5, "custom:555": 2}
    assert s4["observed_at"] == NOW
    assert (snaps[5]["views"], snaps[5]["replies"], snaps[5]["reactions"]) == (None, None, 0)

    [channel_row] = rows(batch, "telegram_channels")
    assert channel_row == {"channel_id": CID, "observed_at": NOW, "source_kind": "telethon", "title": "Daily",
                           "username": "daily", "status": "active", "status_reason": None}
    assert rows(batch, "telegram_channel_snapshots") == [{"channel_id": CID, "observed_at": NOW, "subscribers": 1234}]
    assert rows(batch, "rejected_records") == []
    assert set(batch.tables) == set(RAW_TABLES)
    for name in RAW_TABLES:  # every timestamp naive
        for col in batch.table(name).schema:
            if str(col.type).startswith("timestamp"):
                assert col.type.tz is None


def test_first_poll_reads_everything_and_full_channel_request_targets_the_entity():
    client = FakeClient(FakeChannel(CID, messages=[msg(1), msg(2)]))
    p, _ = poller(client)
    batch = run(p.poll_channel(LiveChannel(CID, None), ChannelState()))
    assert [r["message_id"] for r in rows(batch, "telegram_posts")] == [1, 2]
    [req] = requests_of(client, functions.channels.GetFullChannelRequest)
    assert req.channel.id == CID


def test_content_types_by_media():
    assert content_type(None) == ("text", False)
    assert content_type(types.MessageMediaWebPage(webpage=types.WebPageEmpty(id=1))) == ("text", False)
    assert content_type(photo()) == ("photo", True)
    assert content_type(poll_media()) == ("poll", True)
    assert content_type(document(types.DocumentAttributeVideo(duration=3.0, w=1, h=1), mime="video/mp4")) \
        == ("video", True)
    assert content_type(document(types.DocumentAttributeAudio(duration=3, voice=True))) == ("voice", True)
    assert content_type(document(types.DocumentAttributeAudio(duration=3, title="song"))) == ("audio", True)
    sticker = types.DocumentAttributeSticker(alt="x", stickerset=types.InputStickerSetEmpty())
    video_sticker = types.DocumentAttributeVideo(duration=1.0, w=1, h=1)
    assert content_type(document(sticker, video_sticker)) == ("sticker", True)
    assert content_type(document(types.DocumentAttributeFilename(file_name="a.pdf"))) == ("document", True)
    assert content_type(types.MessageMediaGeo(geo=types.GeoPointEmpty())) == ("other", True)


def test_albums_keep_grouped_id_and_per_message_type():
    ch = FakeChannel(CID, messages=[
        msg(10, text="caption", media=photo(), grouped_id=777),
        msg(11, text="", media=photo(), grouped_id=777),
        msg(12, text="", media=document(types.DocumentAttributeVideo(duration=2.0, w=1, h=1)), grouped_id=777),
    ])
    p, _ = poller(FakeClient(ch))
    batch = run(p.poll_channel(LiveChannel(CID, None), ChannelState(max_message_id=9)))
    posts = rows(batch, "telegram_posts")
    assert [(r["message_id"], r["grouped_id"], r["content_type"]) for r in posts] == [
        (10, 777, "photo"), (11, 777, "photo"), (12, 777, "video")]


def test_service_messages_skipped_and_malformed_message_rejected():
    service = types.MessageService(id=21, peer_id=types.PeerChannel(CID), date=at(40),
                                   action=types.MessageActionChannelCreate(title="Daily"))
    broken = msg(22, date=None)
    ch = FakeChannel(CID, messages=[msg(20), service, broken, msg(23)])
    p, _ = poller(FakeClient(ch))
    batch = run(p.poll_channel(LiveChannel(CID, None), ChannelState(max_message_id=19)))
    assert [r["message_id"] for r in rows(batch, "telegram_posts")] == [20, 23]
    assert [r["message_id"] for r in rows(batch, "telegram_post_snapshots")] == [20, 23]
    [rej] = rows(batch, "rejected_records")
    assert (rej["source"], rej["channel_ref"], rej["record_key"]) == ("telethon", str(CID), "22")
    assert rej["reason"] == "message has no date"
    assert json.loads(rej["payload"])["id"] == 22
    assert rows(batch, "telegram_channels")[0]["status"] == "active"


def test_message_without_id_rejected():
    ch = FakeChannel(CID, messages=[msg(None), msg(5)])
    p, _ = poller(FakeClient(ch))
    batch = run(p.poll_channel(LiveChannel(CID, None), ChannelState()))
    assert [r["message_id"] for r in rows(batch, "telegram_posts")] == [5]
    [rej] = rows(batch, "rejected_records")
    assert rej["reason"] == "message has no id" and rej["record_key"] == "None"


def test_due_posts_reread_with_increment_false_in_chunks_and_not_due_left_alone():
    due = [KnownPost(i, NOW - timedelta(hours=2), None) for i in range(1, 251)]
    recent = KnownPost(300, NOW - timedelta(hours=1), NOW - timedelta(minutes=20))     # 10-min tier: due
    fresh = KnownPost(301, NOW - timedelta(hours=1), NOW - timedelta(minutes=5))       # read 5 min ago: not due
    old = KnownPost(302, NOW - timedelta(days=40), NOW - timedelta(days=5))            # past tracking: not due
    daily = KnownPost(303, NOW - timedelta(days=10), NOW - timedelta(hours=3))         # daily tier: not due
    ch = FakeChannel(CID, views={i: (i * 10, i, i % 3) for i in range(1, 400)},
                     reactions={300: types.MessageReactions(results=[types.ReactionCount(
                         reaction=types.ReactionEmoji(emoticon="🔥"), count=9)])})
    client = FakeClient(ch)
    p, _ = poller(client)
    state = ChannelState(max_message_id=303, known_posts=(*due, recent, fresh, old, daily))
    batch = run(p.poll_channel(LiveChannel(CID, None), state))

    view_reqs = requests_of(client, functions.messages.GetMessagesViewsRequest)
    assert [len(r.id) for r in view_reqs] == [100, 100, 51]
    assert all(r.increment is False for r in view_reqs)
    asked = [i for r in view_reqs for i in r.id]
    assert asked == [*range(1, 251), 300]
    assert len(requests_of(client, functions.messages.GetMessagesReactionsRequest)) == 3

    snaps = {r["message_id"]: r for r in rows(batch, "telegram_post_snapshots")}
    assert set(snaps) == {*range(1, 251), 300}
    assert (snaps[300]["views"], snaps[300]["forwards"], snaps[300]["replies"]) == (3000, 300, 0)
    assert snaps[300]["reactions"] == 9 and json.loads(snaps[300]["reactions_by_emoji"]) == {"🔥": 9}
    assert snaps[7]["reactions"] is None and snaps[7]["reactions_by_emoji"] is None  # not in the answer
    assert snaps[7]["observed_at"] == NOW
    assert rows(batch, "telegram_posts") == []


def test_reactions_reread_can_be_switched_off_and_deleted_messages_give_no_snapshot():
    ch = FakeChannel(CID, views={1: (50, 1, None)})  # message 2: no counters (deleted)
    client = FakeClient(ch)
    p, _ = poller(client, reread_reactions=False)
    state = ChannelState(max_message_id=2, known_posts=(KnownPost(1, NOW - timedelta(hours=1), None),
                                                        KnownPost(2, NOW - timedelta(hours=1), None)))
    batch = run(p.poll_channel(LiveChannel(CID, None), state))
    assert requests_of(client, functions.messages.GetMessagesReactionsRequest) == []
    assert [(r["message_id"], r["views"], r["replies"], r["reactions"])
            for r in rows(batch, "telegram_post_snapshots")] == [(1, 50, None, None)]


def test_flood_wait_within_bound_is_slept_and_retried():
    ch = FakeChannel(CID, messages=[msg(1), msg(2), msg(3)], views={9: (1, 0, 0)})
    client = FakeClient(ch)
    client.fail["GetFullChannelRequest"] = [errors.FloodWaitError(request=None, capture=7)]
    client.fail["GetMessagesViewsRequest"] = [errors.FloodWaitError(request=None, capture=3)] * 2
    client.fail["iter_messages"] = [errors.FloodWaitError(request=None, capture=5)]
    client.fail_iter_after = 2  # flood after two messages: the walk resumes after message 2
    p, slept = poller(client)
    state = ChannelState(max_message_id=0, known_posts=(KnownPost(9, NOW - timedelta(hours=1), None),))
    batch = run(p.poll_channel(LiveChannel(CID, None), state))

    assert slept == [7, 5, 3, 3]
    assert client.iter_calls == [(CID, 0, True), (CID, 2, True)]
    assert [r["message_id"] for r in rows(batch, "telegram_posts")] == [1, 2, 3]
    assert {r["message_id"] for r in rows(batch, "telegram_post_snapshots")} == {1, 2, 3, 9}
    assert rows(batch, "rejected_records") == []
    assert rows(batch, "telegram_channels")[0]["status"] == "active"


def test_flood_wait_beyond_bound_returns_partial_batch_with_rejected_row():
    ch = FakeChannel(CID, messages=[msg(1), msg(2)], views={9: (1, 0, 0)})
    client = FakeClient(ch)
    client.fail["GetMessagesViewsRequest"] = [errors.FloodWaitError(request=None, capture=1000)]
    p, slept = poller(client, max_flood_wait_s=300)
    state = ChannelState(known_posts=(KnownPost(9, NOW - timedelta(hours=1), None),))
    batch = run(p.poll_channel(LiveChannel(CID, None), state))

    assert slept == []
    assert [r["message_id"] for r in rows(batch, "telegram_posts")] == [1, 2]  # gathered before the flood
    assert {r["message_id"] for r in rows(batch, "telegram_post_snapshots")} == {1, 2}
    [rej] = rows(batch, "rejected_records")
    assert rej["record_key"] == "poll" and rej["channel_ref"] == str(CID)
    assert rej["reason"].startswith("flood wait of 1000 s exceeds bound")
    assert rows(batch, "telegram_channels")[0]["status"] == "active"


def test_flood_wait_retries_are_bounded():
    client = FakeClient(FakeChannel(CID))
    client.fail["GetFullChannelRequest"] = [errors.FloodWaitError(request=None, capture=1)] * 5
    p, slept = poller(client, max_retries=3)
    batch = run(p.poll_channel(LiveChannel(CID, None), ChannelState()))
    assert slept == [1, 1, 1]
    [rej] = rows(batch, "rejected_records")
    assert "retries exhausted" in rej["reason"] and rej["record_key"] == "poll"
    assert rows(batch, "telegram_channels") == [] and rows(batch, "telegram_posts") == []


def test_private_channel_is_marked_and_other_channels_still_polled():
    client = FakeClient(FakeChannel(CID, username="gone"), FakeChannel(OTHER, messages=[msg(1, channel=OTHER)]))
    client.fail["GetFullChannelRequest"] = [errors.ChannelPrivateError(request=None)]
    p, _ = poller(client)
    batch = run(p.poll([(LiveChannel(CID, "gone"), ChannelState()), (LiveChannel(OTHER, None), ChannelState())]))

    channels = {r["channel_id"]: r for r in rows(batch, "telegram_channels")}
    assert channels[CID]["status"] == "private"
    assert channels[CID]["status_reason"].startswith("ChannelPrivateError")
    assert channels[CID]["username"] == "gone"
    assert channels[OTHER]["status"] == "active"
    assert [(r["channel_id"], r["message_id"]) for r in rows(batch, "telegram_posts")] == [(OTHER, 1)]


def test_unknown_username_and_unresolvable_id_are_unreachable():
    client = FakeClient(FakeChannel(CID), FakeChannel(OTHER), cached_ids=set())
    p, _ = poller(client)
    batch = run(p.poll_channel(LiveChannel(CID, "nobody_here"), ChannelState()))
    [row] = rows(batch, "telegram_channels")
    assert row["status"] == "unreachable" and row["status_reason"].startswith("UsernameNotOccupiedError")

    client = FakeClient(FakeChannel(CID))
    client.fail["get_entity"] = [ValueError("Could not find the input entity")] * 2
    p, _ = poller(client)
    batch = run(p.poll_channel(LiveChannel(CID, None), ChannelState()))
    [row] = rows(batch, "telegram_channels")
    assert row["status"] == "unreachable" and row["status_reason"].startswith("ValueError")


def test_bare_id_resolves_after_loading_dialogs_once():
    client = FakeClient(FakeChannel(CID, messages=[msg(1)]), FakeChannel(OTHER), cached_ids=set())
    p, _ = poller(client)
    batch = run(p.poll([(LiveChannel(CID, None), ChannelState()), (LiveChannel(OTHER, None), ChannelState())]))
    assert client.dialogs_loaded == 1
    assert {r["status"] for r in rows(batch, "telegram_channels")} == {"active"}


def test_username_now_owned_by_another_channel_is_unreachable():
    client = FakeClient(FakeChannel(OTHER, username="daily"))
    p, _ = poller(client)
    batch = run(p.poll_channel(LiveChannel(CID, "daily"), ChannelState()))
    [row] = rows(batch, "telegram_channels")
    assert row["channel_id"] == CID and row["status"] == "unreachable" and str(OTHER) in row["status_reason"]
    assert rows(batch, "telegram_posts") == []


def test_unexpected_failure_of_one_channel_is_recorded_and_others_continue():
    client = FakeClient(FakeChannel(CID), FakeChannel(OTHER, messages=[msg(1, channel=OTHER)]))
    client.fail["get_entity"] = [ConnectionError("socket closed")]
    p, _ = poller(client)
    batch = run(p.poll([(LiveChannel(CID, None), ChannelState()), (LiveChannel(OTHER, None), ChannelState())]))
    [rej] = rows(batch, "rejected_records")
    assert rej["channel_ref"] == str(CID) and rej["record_key"] == "poll" and "ConnectionError" in rej["reason"]
    assert [r["channel_id"] for r in rows(batch, "telegram_channels")] == [OTHER]


def test_stats_only_when_can_view_stats():
    graph = types.StatsGraph(json=types.DataJSON(data=graph_json([date(2025, 3, 8), date(2025, 3, 9)], [5, 7], [1, 0])))
    client = FakeClient(FakeChannel(CID, can_view_stats=False, followers_graph=graph),
                        FakeChannel(OTHER, can_view_stats=True, followers_graph=graph))
    p, _ = poller(client)
    batch = run(p.poll([(LiveChannel(CID, None), ChannelState()), (LiveChannel(OTHER, None), ChannelState())]))
    stats_reqs = requests_of(client, functions.stats.GetBroadcastStatsRequest)
    assert [r.channel.id for r in stats_reqs] == [OTHER]
    assert stats_reqs[0].dark is False
    assert rows(batch, "telegram_channel_daily_stats") == [
        {"channel_id": OTHER, "day": date(2025, 3, 8), "joins": 5, "leaves": 1, "observed_at": NOW},
        {"channel_id": OTHER, "day": date(2025, 3, 9), "joins": 7, "leaves": 0, "observed_at": NOW},
    ]


def test_async_graph_is_loaded_and_graph_error_ignored():
    loaded = types.StatsGraph(json=types.DataJSON(data=graph_json([date(2025, 3, 9)], [3], [2])))
    client = FakeClient(FakeChannel(CID, can_view_stats=True, followers_graph=types.StatsGraphAsync(token="tok"),
                                    async_graphs={"tok": loaded}),
                        FakeChannel(OTHER, can_view_stats=True,
                                    followers_graph=types.StatsGraphError(error="not enough followers")))
    p, _ = poller(client)
    batch = run(p.poll([(LiveChannel(CID, None), ChannelState()), (LiveChannel(OTHER, None), ChannelState())]))
    [load] = requests_of(client, functions.stats.LoadAsyncGraphRequest)
    assert load.token == "tok"
    assert rows(batch, "telegram_channel_daily_stats") == [
        {"channel_id": CID, "day": date(2025, 3, 9), "joins": 3, "leaves": 2, "observed_at": NOW}]
    assert rows(batch, "rejected_records") == []
    assert {r["status"] for r in rows(batch, "telegram_channels")} == {"active"}


def test_stats_permission_error_is_not_fatal():
    client = FakeClient(FakeChannel(CID, can_view_stats=True, messages=[msg(1)]))
    client.fail["GetBroadcastStatsRequest"] = [errors.ChatAdminRequiredError(request=None)]
    p, _ = poller(client)
    batch = run(p.poll_channel(LiveChannel(CID, None), ChannelState()))
    assert rows(batch, "telegram_channel_daily_stats") == []
    assert len(rows(batch, "telegram_posts")) == 1 and rows(batch, "rejected_records") == []


def test_graph_mapping_by_names_case_insensitive():
    data = json.dumps({"columns": [["x", 1741478400000], ["a", 4], ["b", 2]],
                       "names": {"a": "left", "b": "JOINED"}, "types": {"x": "x", "a": "line", "b": "line"}})
    assert joins_leaves_from_graph(data) == [(date(2025, 3, 9), 2, 4)]
    with pytest.raises(ValueError):
        joins_leaves_from_graph(json.dumps({"columns": [["x", 1]], "names": {"y0": "Muted"}}))


def _settings(**kw) -> Settings:
    base = dict(data_dir="/tmp/x", app_db_url="sqlite://", warehouse_url="duckdb:///tmp/x.duckdb")
    return Settings(**base, **kw)


def _session_string() -> str:
    from telethon.crypto import AuthKey
    from telethon.sessions import StringSession

    s = StringSession()
    s.set_dc(2, "149.154.167.51", 443)
    s.auth_key = AuthKey(b"\x01" * 256)
    return s.save()


def test_make_client_names_the_missing_variable_never_its_value():
    with pytest.raises(ConfigError, match="TELEGRAM_SESSION") as e:
        make_client(_settings(telegram_api_id=12345, telegram_api_hash="s3cr3th4sh"))
    assert "s3cr3th4sh" not in str(e.value) and "12345" not in str(e.value)
    with pytest.raises(ConfigError, match="TELEGRAM_API_ID"):
        make_client(_settings(telegram_api_hash="h", telegram_session=_session_string()))
    with pytest.raises(ConfigError, match="TELEGRAM_API_HASH"):
        make_client(_settings(telegram_api_id=1, telegram_session=_session_string()))
    with pytest.raises(ConfigError, match="TELEGRAM_SESSION") as e:
        make_client(_settings(telegram_api_id=1, telegram_api_hash="h", telegram_session="not-a-session-xyz"))
    assert "not-a-session-xyz" not in str(e.value) and e.value.__cause__ is None


def test_make_client_builds_an_unconnected_client():
    from telethon import TelegramClient

    client = make_client(_settings(telegram_api_id=1, telegram_api_hash="h", telegram_session=_session_string()))
    assert isinstance(client, TelegramClient)
    assert not client.is_connected()
    assert client.flood_sleep_threshold == 0


def test_channel_closing_mid_poll_keeps_rows_already_read():
    client = FakeClient(FakeChannel(CID, messages=[msg(1)]))
    client.fail["GetMessagesViewsRequest"] = [errors.ChannelPrivateError(request=None)]
    p, _ = poller(client)
    state = ChannelState(max_message_id=0, known_posts=(KnownPost(9, NOW - timedelta(hours=1), None),))
    batch = run(p.poll_channel(LiveChannel(CID, None), state))
    assert [r["message_id"] for r in rows(batch, "telegram_posts")] == [1]
    [row] = rows(batch, "telegram_channels")
    assert row["status"] == "private"


def test_stats_follow_stats_migrate_to_the_stats_dc():
    graph = types.StatsGraph(json=types.DataJSON(data=graph_json([date(2025, 3, 9)], [1], [0])))

    class Sender:
        def __init__(self):
            self.sent = []

        async def send(self, request):
            self.sent.append(request)
            return broadcast_stats(graph)

    class MigratingClient(FakeClient):
        def __init__(self, *a):
            super().__init__(*a)
            self.sender = Sender()
            self.borrowed: list[int] = []
            self.returned = 0

        async def _borrow_exported_sender(self, dc):
            self.borrowed.append(dc)
            return self.sender

        async def _return_exported_sender(self, sender):
            self.returned += 1

    client = MigratingClient(FakeChannel(CID, can_view_stats=True))
    client.fail["GetBroadcastStatsRequest"] = [errors.StatsMigrateError(request=None, capture=4)]
    p, _ = poller(client)
    batch = run(p.poll_channel(LiveChannel(CID, None), ChannelState()))
    assert client.borrowed == [4] and client.returned == 1
    assert isinstance(client.sender.sent[0], functions.stats.GetBroadcastStatsRequest)
    assert [r["joins"] for r in rows(batch, "telegram_channel_daily_stats")] == [1]
